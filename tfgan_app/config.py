"""One config object for every run, and the presets that override it.

`Config` holds every field with a visible default and a comment on why.  A preset
changes only the fields that differ (Flax `configs/*.py` style); flags of
`train.py` override single fields.  Every run writes its resolved config to
`WORKDIR/config.json`.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

GAMES = ("gan", "pix2pix", "cyclegan", "srgan", "lapgan", "stackgan", "chargan", "midinet")
TRANSLATION_GAMES = ("pix2pix", "cyclegan", "srgan")  # image in, image out: no samples of their own
LOSSES = ("minimax", "non-saturating", "wasserstein", "hinge", "least-squares", "wgan-clip")
# Old loss names and what they mean now: loss -> (loss, penalty).
LOSS_ALIASES = {"wgan-gp": ("wasserstein", "gp")}
PENALTIES = ("none", "gp", "lp", "fd", "dragan")
# Fields renamed since runs were first written: old name -> new name (old run directories resume).
RENAMED_FIELDS = {"gp_weight": "penalty_weight"}
NOISES = ("normal", "uniform", "stratified")
OPTIMIZERS = ("adam", "sgd", "rmsprop")
TOY_PROBLEMS = ("gaussian1d", "sine", "ring8", "grid25")
# Problems whose data is named by --dataset: images, lines of text (the chargan game) and
# bars of melody (the midinet game).
DATA_PROBLEMS = ("image", "text", "music")
# The game each non-image data problem is learnt by.
PROBLEM_GAMES = {"text": "chargan", "music": "midinet"}
IMAGE_ARCHITECTURES = ("dcgan", "dcgan-tutorial", "sngan")
NORMS = ("batch", "layer", "none")
ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid", "elu")
CONDITIONINGS = ("none", "cgan", "acgan", "projection")
SPECTRAL_NORMS = ("none", "d", "gd")
UPDATES = ("alternating", "simultaneous")
STRATEGIES = ("auto", "default", "mirrored", "multiworker", "tpu")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
LAYER_IMPLS = ("auto", "tfgan", "keras")
# Figures eval_metric may name (lower is better: reverse_kl, mode_kl, ks, w1, mean_error, rmse, fcd, kid).
EVAL_METRICS = ("auto", "modes", "high_quality", "reverse_kl", "mean_error", "ks", "w1", "rmse",
                "fcd", "kid", "is", "precision", "recall", "mode_kl", "js1", "js2", "js3", "js4",
                "pitch_js", "interval_js", "scale", "empty", "chord_tones")


class ConfigError(ValueError):
    """A config field or flag has a value we cannot use.

    `field` is the config field; the message says what was expected.
    """

    def __init__(self, field: str, message: str):
        self.field = field
        flag = "--" + field.replace("_", "-")
        super().__init__(f"{flag}: {message}")


@dataclasses.dataclass
class Config:
    """Everything a run needs. Defaults are the `ring8` preset's."""

    # --- problem -------------------------------------------------------------
    # The game (tfgan_app/games/): "gan" is Goodfellow et al.'s Algorithm 1 with its variants.
    game: str = "gan"
    # A toy distribution (gaussian1d, sine, ring8, grid25), or "image", "text" or "music"
    # for a dataset named by `dataset`.
    problem: str = "ring8"
    # Image data: tfds:NAME[:SPLIT], mnist-idx:DIR, folder:DIR, npz:FILE, or tfrecords:DIR
    # (written by `python -m tfgan_app.data.prepare` from images, pairs, two domains, captions,
    # text or music; streamed, never held whole); paired images for translation: pairs:DIR (A|B side by
    # side), pairs:DIR_A,DIR_B or edges2digits:SPEC (tfgan_app/data/paired.py).  Text (--problem
    # text): pydoc-topics (offline), text:FILE, text:DIR, tfds:lm1b or tfrecords:DIR
    # (tfgan_app/data/text.py).  Music (--problem music): chorales or folk:oneills|ryans|essen[:N]
    # (offline), midi:DIR or tfrecords:DIR (tfgan_app/data/melody.py).
    dataset: str = ""
    # Where tensorflow-datasets keeps prepared data (None: its default).
    data_dir: str = ""
    # Image side length and channels; 0 = take them from the dataset.
    image_size: int = 0
    channels: int = 0
    # tfrecords: (streamed) data: records are shuffled in windows of this many; memory holds one
    # window of serialized records, and a run resumes only with the window it started with.
    shuffle_buffer: int = 4096
    # Number of classes for conditional models; 0 = from the dataset's labels.
    num_classes: int = 0
    # Paired data: AtoB translates A (the left half, DIR_A, the edge map) into B; BtoA back.
    direction: str = "AtoB"
    # Paired data: pix2pix's random jitter, resize up by this factor then crop back (286/256 is
    # the paper's; 1 = off), and a random left-right mirror of each pair.
    jitter: float = 286 / 256
    mirror: bool = True

    # --- model -----------------------------------------------------------------
    # Dimension of the noise z.  2 is plenty for the 2-D mixtures.
    latent_dim: int = 2
    # How z is drawn.  "stratified" is the 1-D tutorial's linspace(-r, r, M) + U(0, 0.01).
    noise: str = "normal"
    # Half-width r of uniform and stratified noise.
    noise_range: float = 1.0
    # MLP hidden widths for the toy problems (comma separated on the command line).
    g_hidden: tuple = (128, 128, 128)
    d_hidden: tuple = (128, 128, 128)
    g_activation: str = "relu"
    d_activation: str = "leaky_relu"
    # Image models: dcgan (DCGAN paper guidelines), dcgan-tutorial (the TF tutorial's
    # model: workload W1, and W2 with d_dropout=0) or sngan (the SN-GAN paper's standard CNN,
    # with the SAGAN / BigGAN options below; tfgan_app/nets/sngan.py).
    architecture: str = "dcgan"
    # sngan: spectral normalization (Miyato et al. 2018) in D ("d", SN-GAN), in G and D
    # ("gd", SAGAN and BigGAN), or "none".  W / sigma(W) with one power iteration per
    # training call (tfgan_app/nets/spectral_norm.py says what that means per step).
    spectral_norm: str = "none"
    # sngan: SAGAN's self-attention block in G and D at this feature-map side (7 or 14 at
    # 28 px; 8 or 16 at 32 px); 0 = none.
    attention: int = 0
    # sngan with --conditioning projection: 0 = per-class conditional-BatchNorm tables (the
    # projection paper); d > 0 = BigGAN's shared class embedding of width d feeding every
    # conditional BatchNorm (with z).
    class_embedding: int = 0
    # Normalisation inside the image discriminator: batch (DCGAN), layer (per example,
    # required by WGAN-GP's per-example penalty) or none (the TF tutorial's).
    d_norm: str = "batch"
    # Dropout after each discriminator conv block (0.3 in the TF tutorial).
    d_dropout: float = 0.0
    # Base width (filters of the widest DCGAN layer / 8); small for tests.
    width: int = 64
    # Upsampling layers of the dcgan generator (and stride-2 layers of its discriminator);
    # 0 = the DCGAN guidelines' start: 7x7 for 28 px (2 layers), 4x4 for 32 and 64 px.
    # 4 at 28 px is PacGAN's Stacked MNIST net: 2, 4, 7, 14, 28 px, 8w channels first.
    depth: int = 0
    # Conditioning: none, cgan (label fed to G and D), acgan (auxiliary classifier),
    # projection (sngan only: conditional BatchNorm in G, projection discriminator).
    conditioning: str = "none"
    # Weight of AC-GAN's auxiliary classification loss.
    aux_weight: float = 1.0
    # pix2pix: stride-2 layers of the PatchGAN discriminator (the authors' n_layers_D): 3 is the
    # 70x70 PatchGAN, 1 the 16x16 one (tfgan_app/nets/patchgan.py lists the patch sizes).
    patch_layers: int = 3
    # pix2pix: lambda of the L1 term, G's loss = gan_weight * cGAN + lambda * L1 (the paper's
    # 100 and 1).  SRGAN: G's loss = content + gan_weight * adversarial (the paper's 1e-3).
    # gan_weight 0 trains G alone: pix2pix's L1-only baseline, SRGAN's SRResNet.
    l1_weight: float = 100.0
    gan_weight: float = 1.0
    # SRGAN: the content loss's feature space: pixels (MSE), discriminator (its last conv block)
    # or vgg19 (the paper's VGG54, weights from the local file content_weights).
    content: str = "pixels"
    content_weights: str = ""
    # Start from the generator of this finished run (SRGAN from its SRResNet run); "" = none.
    init_from: str = ""
    # CycleGAN: lambda of the cycle-consistency loss (the paper's 10), the identity loss's
    # weight as a fraction of lambda (the authors' 0.5; 0 = off), the history of generated
    # images each discriminator also sees (Shrivastava et al.; the paper's 50), and the
    # residual blocks of the ResNet generator (6 at 128 px, 9 at 256 px in the paper).
    cycle_weight: float = 10.0
    identity_weight: float = 0.5
    pool_size: int = 50
    res_blocks: int = 9
    # LAPGAN: levels of the Laplacian pyramid (3 on 28-px digits: 7 -> 14 -> 28; the image side
    # must halve levels - 1 times), and the one level a run trains (-1: all of them together;
    # levels trained one at a time join with --init-from).
    levels: int = 3
    level: int = -1
    # StackGAN: the stage a run trains (1; 2 with --init-from a Stage-I run, Stage I frozen), the
    # size of the Conditioning Augmentation's c (the paper's 128), the weight of its KL term (the
    # authors' TRAIN.COEFF.KL, 2), augment false for the no-CA ablation (c = mu, no KL), and the
    # frozen text encoder (a .keras of nets/text_encoder.py; "" = the one cached for --dataset,
    # trained on first use).
    stage: int = 1
    c_dim: int = 128
    kl_weight: float = 2.0
    augment: bool = True
    text_encoder: str = ""
    # Text (chargan): characters per line (lines are cut or padded; the paper's 32) and the
    # vocabulary's size, PAD and UNKNOWN included (the paper's 2,048; the rest is UNKNOWN).
    seq_len: int = 32
    vocab: int = 2048
    # Music (midinet): condition each bar on its chord (false: melodies alone, e.g. MIDI files of
    # one part), and how many bars a generated melody has (samples, the chord-free export).
    chords: bool = True
    bars: int = 8

    # --- the game --------------------------------------------------------------
    # minimax (Goodfellow's original, saturating G loss), non-saturating, wasserstein
    # (Arjovsky et al.; give it a --penalty), hinge (SN-GAN, BigGAN), least-squares (LSGAN),
    # wgan-clip (Wasserstein with weight clipping).  wgan-gp = wasserstein + --penalty gp.
    loss: str = "non-saturating"
    # A penalty on the critic, with any loss: gp (WGAN-GP's two-sided gradient penalty), lp
    # (one-sided, Petzka et al.), fd (finite differences on a real-fake line: no double
    # backprop), dragan (gradient penalty around real data, Kodali et al.), or none.
    penalty: str = "none"
    # The penalty's weight lambda; 10 is the WGAN-GP and DRAGAN papers' value.
    penalty_weight: float = 10.0
    # PacGAN packing (Lin et al. 2018): the discriminator judges this many samples at a
    # time (concatenated; stacked as channels for images), all real or all fake -- a
    # generator that drops modes is easier to tell apart.  1 = a plain GAN.
    pack: int = 1
    # Discriminator (critic) steps per generator step: Algorithm 1's k.
    n_critic: int = 1
    # Generator steps after the critic steps of a train step, each on fresh noise.  PacGAN's
    # Stacked MNIST code (after carpedm20's DCGAN-tensorflow) takes 2 "to make sure that
    # d_loss does not go to zero".  --steps and --steps-per-epoch count train steps.
    g_steps: int = 1
    # Generator weight average (Yazici et al. 2019): after every generator step
    # theta_avg <- g_ema * theta_avg + (1 - g_ema) * theta; samples, evaluation and exports
    # then use the average.  0 = off; 0.999 is Karras et al.'s (ProGAN) value.
    g_ema: float = 0.0
    # R1 penalty gamma (Mescheder et al. 2018): gamma / 2 * E||grad D(x)||^2 on real data as
    # the discriminator sees it (packed), added to its loss (any loss, any penalty).  0 = off.
    r1_weight: float = 0.0
    # BigGAN's orthogonal regularization of G's kernels, beta * ||W^T W (1 - I)||_F^2 added
    # to the generator's loss; 1e-4 is the paper's beta.  0 = off.
    ortho_weight: float = 0.0
    # Weight clipping bound c for wgan-clip; 0.01 is the paper's value.
    clip_value: float = 0.01

    # --- optimisation ----------------------------------------------------------
    optimizer: str = "adam"
    g_lr: float = 1e-3
    d_lr: float = 1e-3
    # Adam's betas: (0.5, 0.9) is the WGAN-GP paper's choice; GANs prefer beta_1 < 0.9.
    beta_1: float = 0.5
    beta_2: float = 0.9
    # SGD momentum and Nesterov, used by optimizer="sgd".
    momentum: float = 0.0
    nesterov: bool = False
    # Learning rates are multiplied by lr_decay every lr_decay_epochs epochs (1.0 = off).
    lr_decay: float = 1.0
    lr_decay_epochs: int = 10
    # Or they stay constant, then fall linearly to zero over the last this many epochs
    # (CycleGAN and pix2pix's code: 100 of 200); 0 = off.
    linear_decay_epochs: int = 0
    # Real examples per discriminator step (each of the n_critic steps gets its own).
    batch_size: int = 256
    # Generator steps per epoch; epochs mark checkpoints, plots and log lines.
    steps_per_epoch: int = 500
    epochs: int = 20
    # Run seed: weights, noise and data order all follow from it.
    seed: int = 0

    # --- outputs ---------------------------------------------------------------
    # Keep this many checkpoints.
    keep_checkpoints: int = 3
    # Draw sample plots / grids every this many epochs (the last epoch always).
    plot_every: int = 5
    # Samples drawn for the toy plots and the toy quality figures (and for eval_every).
    eval_samples: int = 2500

    # --- scale and speed (tfgan_app/training/distribute.py) -------------------------------
    # How each step updates the nets.  "alternating" is Algorithm 1: n_critic critic steps,
    # then a generator step on fresh noise through the updated critic.  "simultaneous" is the
    # TF DCGAN tutorial's step: one forward pass, both gradients from it, both applied
    # (n_critic must be 1); it does ~21% less arithmetic on W1 (no second pass of G and D).
    update: str = "alternating"
    # auto: TPU if --tpu or TPU_NAME is set, else every GPU if there are 2 or more, else one
    # device.  mirrored: every GPU (else every logical CPU) of this machine.  multiworker:
    # the cluster in TF_CONFIG (a custom loop: Keras 3.15 fit fails under it).
    strategy: str = "auto"
    # TPU for TPUClusterResolver (a name, grpc://HOST:PORT or "local"); "" = TPU_NAME.
    tpu: str = ""
    # BatchNormalization statistics over all replicas' examples (False: each replica's own).
    sync_batchnorm: bool = False
    # float32, mixed_bfloat16 (TPUs, CPUs with AVX512-BF16/AMX) or mixed_float16 (GPUs;
    # both optimizers then scale their losses).  Output layers stay float32.
    precision: str = "float32"
    # Conv2D, Conv2DTranspose and BatchNormalization of the image nets: "tfgan" =
    # tfgan_app.nets.layers (the same function with faster kernels on CPU: fused batch norm,
    # bfloat16 weight gradients as forward convolutions, sub-pixel thin transposed convs;
    # measured in docs/speed.md), "keras" = Keras's own, "auto" = tfgan unless a GPU or TPU
    # trains (their conv libraries are fast already).  Checkpoints do not depend on it.
    layer_impl: str = "auto"
    # Compile the train step with XLA.  Measured slower here on CPU (docs/speed.md): off.
    jit_compile: bool = False
    # Train steps per tf.function call: fewer Python round trips; TPUs need many.
    steps_per_execution: int = 1
    # Seconds every worker of a multi-worker cluster may take to join before we give up
    # (a missing worker otherwise blocks TF forever).
    worker_timeout: float = 300.0
    # How a multi-worker cluster splits the input.  data: every worker reads the whole stream
    # and keeps its rows of each global batch (R replicas compute one device's steps).
    # file: worker w reads only the shards [w::W] of each epoch's shard order (tfrecords:
    # only; I/O divided by W; exact and resumable for a fixed W, but not one device's steps).
    # auto: file when the shards divide evenly among the workers, else data.
    data_sharding: str = "auto"
    # grpc://HOST:PORT of a tf.data service dispatcher (tfgan_app/data/service.py): its workers
    # read and decode the tfrecords: shards and send batches.  Every record once per data
    # epoch, in no reproducible order; a resume restarts the data epoch.  "" = read here.
    # Its workers (and the dispatcher) must answer within worker_timeout seconds.
    data_service: str = ""
    # Evaluate sample quality every this many epochs (0 = off): figures go to the epoch
    # logs as eval_<figure> (metrics.csv, TensorBoard) and the best generator to WORKDIR/best/.
    eval_every: int = 0
    # The figure that picks the best generator: auto (modes for ring8/grid25, ks for
    # gaussian1d, rmse for sine, fcd for images, js4 for text, pitch_js for music), or one of EVAL_METRICS; see
    # tfgan_app/metrics/figures.py for which problem has which figures and their direction.
    eval_metric: str = "auto"
    # The project's classifier for image figures ("" = ~/.cache/tfgan_app/mnist_classifier.keras;
    # train it with `python -m tfgan_app.metrics.classifier --dataset mnist-idx:DIR`).
    eval_classifier: str = ""

    def __post_init__(self):
        if self.loss in LOSS_ALIASES:  # --loss wgan-gp = --loss wasserstein --penalty gp
            self.loss, penalty = LOSS_ALIASES[self.loss]
            if self.penalty == "none":
                self.penalty = penalty

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Config":
        d = {RENAMED_FIELDS.get(k, k): v for k, v in d.items()}  # configs of older runs
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ConfigError(unknown[0], "is not a config field")
        d = dict(d)
        for f in dataclasses.fields(cls):
            if f.name in d and isinstance(f.default, tuple):
                d[f.name] = tuple(d[f.name])
        return cls(**d)

    @property
    def is_image(self) -> bool:
        return self.problem == "image"

    @property
    def is_text(self) -> bool:
        return self.problem == "text"

    @property
    def is_music(self) -> bool:
        return self.problem == "music"

    def validate(self) -> "Config":
        """Checks every field; raises ConfigError naming the first bad one."""
        _one_of("problem", self.problem, TOY_PROBLEMS + DATA_PROBLEMS)
        _one_of("game", self.game, GAMES)
        _one_of("loss", self.loss, LOSSES + tuple(LOSS_ALIASES))
        _one_of("penalty", self.penalty, PENALTIES)
        _one_of("noise", self.noise, NOISES)
        _one_of("optimizer", self.optimizer, OPTIMIZERS)
        _one_of("g_activation", self.g_activation, ACTIVATIONS)
        _one_of("d_activation", self.d_activation, ACTIVATIONS)
        _one_of("architecture", self.architecture, IMAGE_ARCHITECTURES)
        _one_of("conditioning", self.conditioning, CONDITIONINGS)
        _one_of("spectral_norm", self.spectral_norm, SPECTRAL_NORMS)
        _one_of("d_norm", self.d_norm, NORMS)
        _one_of("update", self.update, UPDATES)
        _one_of("strategy", self.strategy, STRATEGIES)
        _one_of("data_sharding", self.data_sharding, ("auto", "file", "data"))
        if self.data_service and not (str(self.data_service).startswith("grpc://")
                                      and str(self.dataset).startswith("tfrecords:")):
            raise ConfigError("data_service", f"expected grpc://HOST:PORT of a tf.data service dispatcher, with "
                              f"--dataset tfrecords:DIR (its workers read the shards); got {self.data_service!r} "
                              f"with --dataset {self.dataset or '(none)'}")
        if self.data_sharding == "file" and not str(self.dataset).startswith("tfrecords:"):
            raise ConfigError("data_sharding", f"file sharding reads the shards of --dataset tfrecords:DIR; "
                              f"{self.dataset or 'this problem'} has none (prepare it with python -m "
                              f"tfgan_app.data.prepare, or use --data-sharding data)")
        _one_of("precision", self.precision, PRECISIONS)
        _one_of("layer_impl", self.layer_impl, LAYER_IMPLS)
        _one_of("eval_metric", self.eval_metric, EVAL_METRICS)
        if self.eval_every < 0:
            raise ConfigError("eval_every", f"expected an integer >= 0 (0 = off), got {self.eval_every}")
        if self.game == "pix2pix":
            if not self.is_image:
                raise ConfigError("problem", "pix2pix translates images: use --problem image with a paired "
                                  "--dataset (pairs:DIR, pairs:DIR_A,DIR_B, edges2digits:SPEC or tfrecords:DIR "
                                  "prepared from one of them)")
            if self.n_critic != 1 or self.g_steps != 1:
                raise ConfigError("n_critic", "pix2pix alternates one D step and one G step: leave --n-critic "
                                  "and --g-steps at 1")
        _one_of("content", self.content, ("pixels", "discriminator", "vgg19"))
        if self.game in TRANSLATION_GAMES and self.eval_every:
            raise ConfigError("eval_every", f"periodic evaluation scores a game's own samples; {self.game} "
                              f"translates inputs and is scored by its benchmark (docs/benchmarks.md): leave "
                              f"--eval-every at 0")
        if self.content == "discriminator" and not self.gan_weight:
            raise ConfigError("content", "the discriminator's features need a discriminator being trained: "
                              "--gan-weight 0 trains none (use --content pixels)")
        if self.game == "srgan" and not self.is_image:
            raise ConfigError("problem", "srgan super-resolves images: use --problem image with --dataset sr:SPEC "
                              "or sr-photos")
        if self.game == "cyclegan":
            if not self.is_image:
                raise ConfigError("problem", "cyclegan translates images: use --problem image with an unpaired "
                                  "--dataset (domains:A,B, domains:tfds:cycle_gan/NAME, digits2mnist:SPEC or "
                                  "tfrecords:DIR prepared from one of them)")
            if self.n_critic != 1 or self.g_steps != 1:
                raise ConfigError("n_critic", "cyclegan alternates one G step and one D step: leave --n-critic "
                                  "and --g-steps at 1")
        if self.game == "lapgan":
            if not self.is_image:
                raise ConfigError("problem", "lapgan generates images: use --problem image with a --dataset")
            if self.n_critic != 1 or self.g_steps != 1:
                raise ConfigError("n_critic", "each LAPGAN level alternates one D step and one G step: leave "
                                  "--n-critic and --g-steps at 1")
            if self.levels < 2:
                raise ConfigError("levels", f"expected 2 or more pyramid levels, got {self.levels}")
            if not -1 <= self.level < self.levels:
                raise ConfigError("level", f"expected -1 (all levels) or a level 0..{self.levels - 1} "
                                  f"(0 the finest), got {self.level}")
            if self.conditioning != "none" or self.pack != 1:
                raise ConfigError("conditioning", "lapgan is unconditional and unpacked here: leave "
                                  "--conditioning none and --pack 1")
        if self.game == "stackgan":
            if not self.is_image:
                raise ConfigError("problem", "stackgan makes images from text: use --problem image with --dataset "
                                  "captions2digits:SPEC, captions:FILE or tfrecords:DIR prepared from one")
            if self.stage not in (1, 2):
                raise ConfigError("stage", f"expected 1 (Stage I) or 2 (Stage II), got {self.stage}")
            if self.stage == 2 and not self.init_from:
                raise ConfigError("stage", "Stage II starts from a trained Stage I: give --init-from STAGE1_RUN")
            if self.n_critic != 1 or self.g_steps != 1 or self.pack != 1 or self.conditioning != "none":
                raise ConfigError("n_critic", "stackgan alternates one D step and one G step and conditions on "
                                  "text: leave --n-critic, --g-steps, --pack at 1 and --conditioning none")
            if self.c_dim <= 0 or not self.kl_weight >= 0:
                raise ConfigError("c_dim", f"expected --c-dim > 0 and --kl-weight >= 0, got {self.c_dim}, "
                                  f"{self.kl_weight}")
        for problem, game in PROBLEM_GAMES.items():
            if (self.problem == problem) != (self.game == game):
                raise ConfigError("game" if self.problem == problem else "problem",
                                  f"{problem} is learnt by the {game} game: use --problem {problem} with --game {game}"
                                  if self.problem == problem else
                                  f"{game} learns {problem}: use --problem {problem} with a {problem} --dataset")
        if self.is_music and (self.pack != 1 or self.conditioning != "none" or self.n_critic != 1
                              or self.update != "alternating"):
            raise ConfigError("n_critic", "midinet takes one D step and --g-steps G steps, unpacked and conditioned "
                              "on chords: leave --n-critic 1, --pack 1, --conditioning none, --update alternating")
        if self.bars < 1:
            raise ConfigError("bars", f"expected a positive number of bars, got {self.bars}")
        if self.is_text:
            if self.pack != 1 or self.conditioning != "none" or self.update != "alternating":
                raise ConfigError("pack", "chargan is unconditional, unpacked and alternating: leave --pack 1, "
                                  "--conditioning none and --update alternating")
            if self.seq_len < 4 or self.vocab < 3:
                raise ConfigError("seq_len", f"expected --seq-len >= 4 (the 4-gram figures) and --vocab >= 3 "
                                  f"(PAD, UNKNOWN and a character), got {self.seq_len}, {self.vocab}")
        if self.pool_size < 0:
            raise ConfigError("pool_size", f"expected 0 (no history) or more images, got {self.pool_size}")
        if not 0 <= self.linear_decay_epochs <= self.epochs:
            raise ConfigError("linear_decay_epochs", f"expected 0..--epochs ({self.epochs}), got "
                              f"{self.linear_decay_epochs}")
        if self.linear_decay_epochs and self.lr_decay != 1.0:
            raise ConfigError("linear_decay_epochs", "choose one schedule: --lr-decay (steps) or "
                              "--linear-decay-epochs (linear to zero), not both")
        if not 1 <= self.patch_layers <= 6:
            raise ConfigError("patch_layers", f"expected 1..6 stride-2 layers (3 = the 70x70 PatchGAN), "
                              f"got {self.patch_layers}")
        if not 1 <= self.jitter <= 2:
            raise ConfigError("jitter", f"expected a resize factor in [1, 2] (1 = off; 286/256 is pix2pix's), "
                              f"got {self.jitter}")
        _one_of("direction", self.direction, ("AtoB", "BtoA"))
        if not 0 <= self.d_dropout < 1:
            raise ConfigError("d_dropout", f"expected a number in [0, 1), got {self.d_dropout}")
        for name in ("latent_dim", "n_critic", "g_steps", "batch_size", "steps_per_epoch",
                     "epochs", "lr_decay_epochs", "keep_checkpoints", "plot_every", "pack",
                     "eval_samples", "width", "steps_per_execution", "worker_timeout", "shuffle_buffer"):
            if getattr(self, name) <= 0:
                raise ConfigError(name, f"expected a positive integer, got {getattr(self, name)}")
        for name in ("g_lr", "d_lr", "noise_range", "lr_decay"):
            if not getattr(self, name) > 0:
                raise ConfigError(name, f"expected a positive number, got {getattr(self, name)}")
        for name in ("penalty_weight", "r1_weight", "clip_value", "momentum", "aux_weight", "ortho_weight"):
            if not getattr(self, name) >= 0:
                raise ConfigError(name, f"expected a number >= 0, got {getattr(self, name)}")
        for name in ("beta_1", "beta_2", "g_ema"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(name, f"expected a number in [0, 1), got {getattr(self, name)}")
        for name in ("image_size", "channels", "num_classes", "depth", "attention", "class_embedding"):
            if getattr(self, name) < 0:
                raise ConfigError(name, f"expected an integer >= 0, got {getattr(self, name)}")
        for name in ("g_hidden", "d_hidden"):
            widths = getattr(self, name)
            if not widths or any(int(w) <= 0 for w in widths):
                raise ConfigError(name, f"expected positive comma-separated widths like 128,128, got {widths}")
        if self.noise == "stratified" and self.latent_dim != 1:
            raise ConfigError("noise", "stratified noise is one-dimensional: set --latent-dim 1")
        if self.is_image and not self.dataset:
            raise ConfigError("dataset", "--problem image needs --dataset (tfds:NAME, mnist-idx:DIR, folder:DIR, npz:FILE or "
                                         "tfrecords:DIR)")
        if self.is_text and not self.dataset:
            raise ConfigError("dataset", "--problem text needs --dataset (pydoc-topics, text:FILE, text:DIR, tfds:lm1b or "
                                        "tfrecords:DIR)")
        if self.is_music and not self.dataset:
            raise ConfigError("dataset", "--problem music needs --dataset (chorales, folk:NAME, midi:DIR or "
                                         "tfrecords:DIR)")
        if self.problem not in DATA_PROBLEMS and self.dataset:
            raise ConfigError("dataset", f"--problem {self.problem} is a toy distribution; use --problem image with --dataset")
        if self.conditioning != "none" and self.problem not in DATA_PROBLEMS:
            raise ConfigError("conditioning", "conditional models need labelled image data (--problem image)")
        if self.steps_per_epoch % self.steps_per_execution:  # fit would run whole executions past the epoch
            raise ConfigError("steps_per_execution", f"{self.steps_per_execution} does not divide "
                              f"--steps-per-epoch {self.steps_per_epoch}; epochs (checkpoints) must end "
                              f"between executions")
        if self.update == "simultaneous" and (self.n_critic, self.g_steps) != (1, 1):
            raise ConfigError("update", f"simultaneous updates take one critic step and one generator step; "
                              f"got --n-critic {self.n_critic} --g-steps {self.g_steps} (use --update alternating)")
        if self.batch_size % self.pack:
            raise ConfigError("pack", f"{self.pack} does not divide --batch-size {self.batch_size}; "
                              f"the discriminator takes whole packs of samples")
        if self.pack > 1 and self.conditioning != "none":
            raise ConfigError("pack", f"packing is for unconditional models (a pack would mix labels); "
                              f"got --conditioning {self.conditioning}: use --pack 1")
        if self.depth and self.architecture != "dcgan":
            raise ConfigError("depth", f"only the dcgan architecture has a depth to set; "
                              f"--architecture {self.architecture} is fixed: use --depth 0")
        if self.architecture != "sngan":
            for name, off in (("spectral_norm", "none"), ("attention", 0), ("class_embedding", 0)):
                if getattr(self, name) != off:
                    raise ConfigError(name, f"is an option of --architecture sngan (got --architecture "
                                      f"{self.architecture}); use --architecture sngan or leave it at {off}")
            if self.conditioning == "projection":
                raise ConfigError("conditioning", f"projection conditioning is built by --architecture sngan "
                                  f"(got {self.architecture}); use cgan or acgan here")
        elif self.d_norm == "batch":
            raise ConfigError("d_norm", "the sngan discriminator has no BatchNorm (SN replaces it): "
                              "use --d-norm none (or layer)")
        elif self.conditioning in ("cgan", "acgan"):
            raise ConfigError("conditioning", f"the sngan nets condition by projection: use --conditioning "
                              f"projection (or none), not {self.conditioning}")
        if self.class_embedding and self.conditioning != "projection":
            raise ConfigError("class_embedding", "the shared class embedding feeds conditional BatchNorm: "
                              "it needs --conditioning projection")
        if self.channels not in (0, 1, 3):
            raise ConfigError("channels", f"expected 1 or 3, got {self.channels}")
        return self


def _one_of(field: str, value: str, allowed: tuple) -> None:
    if value not in allowed:
        raise ConfigError(field, f"{value!r} is not one of: {', '.join(allowed)}")


# Presets: only the fields that differ from Config's defaults.
PRESETS: dict[str, dict[str, Any]] = {
    # The classic 1-D tutorial (Theano/Lasagne, then TF): learn N(4, 0.5).
    "gaussian1d": dict(
        problem="gaussian1d", latent_dim=1, noise="stratified", noise_range=5.0,
        g_hidden=(10, 10), d_hidden=(10, 10), g_activation="relu", d_activation="tanh",
        loss="non-saturating", n_critic=1, optimizer="sgd", momentum=0.6, nesterov=True,
        g_lr=0.01, d_lr=0.1, lr_decay=0.999, lr_decay_epochs=10,
        batch_size=200, steps_per_epoch=100, epochs=30, eval_samples=10000),
    # The same problem with a recipe that settles: Adam, bounded noise, lr halved every
    # 500 steps (measured: mean error 0.01 sigma, std ratio 0.93, KS 0.06 at 3,000 steps).
    "gaussian1d-adam": dict(
        problem="gaussian1d", latent_dim=1, noise="uniform", noise_range=1.0,
        g_hidden=(32, 32), d_hidden=(32, 32), g_activation="relu", d_activation="leaky_relu",
        loss="non-saturating", optimizer="adam", g_lr=1e-3, d_lr=1e-3, beta_1=0.5, beta_2=0.9,
        lr_decay=0.5, lr_decay_epochs=1, batch_size=200, steps_per_epoch=500, epochs=6,
        eval_samples=10000),
    # The "artist's paintings" tutorial: 15-point sine curves, saturating minimax loss.
    "sine": dict(
        problem="sine", latent_dim=5, noise="normal", g_hidden=(128,), d_hidden=(128,),
        g_activation="relu", d_activation="relu", loss="minimax", optimizer="adam",
        g_lr=1e-4, d_lr=1e-4, beta_1=0.9, beta_2=0.999, batch_size=64,
        steps_per_epoch=500, epochs=20, eval_samples=500),
    # 2-D mixtures of docs/benchmarks.md Q2 (PacGAN setup).  The learning rate halves
    # every 2,000 steps: the early large steps find the modes, the late small ones put the
    # samples on them (measured, 5 seeds, 15k steps: 8/8 modes, 98.3% high quality; with a
    # constant rate 7.8 modes, 60% -- the samples never settle into 3 std = 0.03).
    "ring8": dict(problem="ring8", loss="non-saturating", g_lr=1e-3, d_lr=1e-3, lr_decay=0.5,
                  lr_decay_epochs=4, epochs=30),
    # WGAN-GP with lambda = 1: the ring has radius 1, so the Wasserstein term is < 1 and
    # lambda = 10 lets the penalty dominate (measured: 1 of 8 modes after 2,000 steps at
    # lambda = 10, lr 1e-4; 8 of 8 after 1,000 steps at lambda = 1, lr 1e-3).
    "ring8-wgan-gp": dict(problem="ring8", loss="wgan-gp", n_critic=5, penalty_weight=1.0,
                          g_lr=1e-3, d_lr=1e-3, steps_per_epoch=200, epochs=5),
    "grid25": dict(problem="grid25", loss="non-saturating"),
    # The grid is where the non-saturating GAN drops modes (22-24 of 25 on 2 seeds of 5, with
    # or without packing or a larger batch); WGAN-GP covers all 25 evenly.  The generator is
    # one layer deeper than the critic, 256x4: 96.8% of the samples within 3 std (5 seeds,
    # 15k steps, ~5.5 min a seed) against 94.7% for G 256x3; a wider G 512x4 lost 2 modes on
    # seed 4 (88.8% on average).
    "grid25-wgan-gp": dict(problem="grid25", loss="wgan-gp", n_critic=5, penalty_weight=1.0,
                           g_hidden=(256, 256, 256, 256), d_hidden=(256, 256, 256), g_lr=1e-3, d_lr=1e-3,
                           lr_decay=0.5, lr_decay_epochs=6, steps_per_epoch=500, epochs=30),
    # --- images ----------------------------------------------------------------
    # W1 of docs/benchmarks.md: the TF DCGAN tutorial, exactly -- its simultaneous
    # update too (one forward pass, both gradients from it).
    "dcgan-mnist": dict(
        problem="image", dataset="tfds:mnist", architecture="dcgan-tutorial", d_norm="none",
        d_dropout=0.3, latent_dim=100, loss="non-saturating", optimizer="adam", g_lr=1e-4,
        d_lr=1e-4, beta_1=0.9, beta_2=0.999, batch_size=256, steps_per_epoch=39, epochs=50,
        update="simultaneous"),
    # W2: W1's generator; critic = W1's discriminator without dropout; lambda 10, 5 critic steps.
    "wgan-gp-mnist": dict(
        problem="image", dataset="tfds:mnist", architecture="dcgan-tutorial", d_norm="none",
        d_dropout=0.0, latent_dim=100, loss="wgan-gp", penalty_weight=10.0, n_critic=5,
        optimizer="adam", g_lr=1e-4, d_lr=1e-4, beta_1=0.5, beta_2=0.9, batch_size=64,
        steps_per_epoch=31, epochs=50),
    # DCGAN paper guidelines: Adam(2e-4, beta_1=0.5), N(0, 0.02) weights, BN in both nets.
    "dcgan": dict(
        problem="image", dataset="tfds:mnist", architecture="dcgan", latent_dim=100,
        loss="non-saturating", optimizer="adam", g_lr=2e-4, d_lr=2e-4, beta_1=0.5,
        beta_2=0.999, batch_size=128, steps_per_epoch=78, epochs=25, width=64),
    "dcgan-cifar10": dict(
        problem="image", dataset="tfds:cifar10", architecture="dcgan", latent_dim=100,
        loss="non-saturating", optimizer="adam", g_lr=2e-4, d_lr=2e-4, beta_1=0.5,
        beta_2=0.999, batch_size=128, steps_per_epoch=390, epochs=30, width=64),
    # The PyTorch DCGAN tutorial's setting: 64x64 RGB faces.
    "dcgan-celeba": dict(
        problem="image", dataset="tfds:celeb_a", image_size=64, channels=3, architecture="dcgan",
        latent_dim=100, loss="non-saturating", optimizer="adam", g_lr=2e-4, d_lr=2e-4,
        beta_1=0.5, beta_2=0.999, batch_size=128, steps_per_epoch=1000, epochs=5, width=64),
    # DCGAN critic with LayerNorm for WGAN-GP.
    "wgan-gp-dcgan": dict(
        problem="image", dataset="tfds:mnist", architecture="dcgan", d_norm="layer",
        latent_dim=100, loss="wgan-gp", n_critic=5, optimizer="adam", g_lr=1e-4, d_lr=1e-4,
        beta_1=0.5, beta_2=0.9, batch_size=64, steps_per_epoch=100, epochs=20, width=64),
    # Conditional GAN (Mirza & Osindero 2014): the label goes to G and D.
    "cgan-mnist": dict(
        problem="image", dataset="tfds:mnist", architecture="dcgan", conditioning="cgan",
        latent_dim=100, loss="non-saturating", optimizer="adam", g_lr=2e-4, d_lr=2e-4,
        beta_1=0.5, beta_2=0.999, batch_size=128, steps_per_epoch=78, epochs=25, width=64),
    # AC-GAN (Odena et al. 2017): D also classifies; both nets gain from the labels.
    "acgan-mnist": dict(
        problem="image", dataset="tfds:mnist", architecture="dcgan", conditioning="acgan",
        latent_dim=100, loss="non-saturating", optimizer="adam", g_lr=2e-4, d_lr=2e-4,
        beta_1=0.5, beta_2=0.999, batch_size=128, steps_per_epoch=78, epochs=25, width=64),
    # SN-GAN (Miyato et al. 2018): the standard CNN of Table 3, SN in D only, no BN in D,
    # the hinge loss and Adam(2e-4, 0, 0.9) with 5 critic steps (the authors' CIFAR-10
    # configuration, pfnet-research/sngan_projection), z of 128, batch 64.
    "sngan": dict(
        problem="image", dataset="tfds:mnist", architecture="sngan", spectral_norm="d", d_norm="none",
        latent_dim=128, loss="hinge", n_critic=5, optimizer="adam", g_lr=2e-4, d_lr=2e-4, beta_1=0.0,
        beta_2=0.9, batch_size=64, steps_per_epoch=100, epochs=30, width=64),
    # SAGAN (Zhang et al. 2019): SN in G and D, self-attention (at 14 px here: the middle
    # block; the paper puts it at the larger feature maps of 128 px nets), hinge loss, two
    # time-scale rates D 4e-4 / G 1e-4 with Adam(0, 0.9) and one D step per G step.
    "sagan": dict(
        problem="image", dataset="tfds:mnist", architecture="sngan", spectral_norm="gd", attention=14,
        d_norm="none", latent_dim=128, loss="hinge", n_critic=1, optimizer="adam", g_lr=1e-4, d_lr=4e-4,
        beta_1=0.0, beta_2=0.9, batch_size=64, steps_per_epoch=200, epochs=30, width=64),
    # BigGAN's tricks (Brock et al. 2019) on the same nets: class-conditional BN from a shared
    # embedding (128 wide) with z, projection discriminator, orthogonal regularization 1e-4,
    # SN in G and D, self-attention, hinge; the paper's G 5e-5 / D 2e-4, Adam(0, 0.999),
    # 2 D steps per G step.  Exports generate_truncated (the truncation trick).
    "biggan-lite": dict(
        problem="image", dataset="tfds:mnist", architecture="sngan", spectral_norm="gd", attention=14,
        d_norm="none", conditioning="projection", class_embedding=128, ortho_weight=1e-4,
        latent_dim=128, loss="hinge", n_critic=2, optimizer="adam", g_lr=5e-5, d_lr=2e-4,
        beta_1=0.0, beta_2=0.999, batch_size=64, steps_per_epoch=100, epochs=30, width=64),
    # pix2pix (Isola et al. 2017) at the paper's 256 px on a pix2pix archive (facades, maps, ...
    # unpacked to a folder of A|B images): U-Net, 70x70 PatchGAN, lambda 100, Adam(2e-4, 0.5),
    # batch 1, random jitter 286 -> 256 and mirroring; 200 epochs of facades' 400 pairs, the
    # last 100 with the rate falling linearly to zero (the authors' code).
    "pix2pix": dict(
        problem="image", game="pix2pix", dataset="pairs:facades/train", image_size=256, patch_layers=3,
        l1_weight=100.0, optimizer="adam", g_lr=2e-4, d_lr=2e-4, beta_1=0.5, beta_2=0.999, batch_size=1,
        steps_per_epoch=400, epochs=200, linear_decay_epochs=100, width=64),
    # The same design at digit size, offline: MNIST digits from their edge maps (data/paired.py),
    # 5 U-Net levels (28 px reflect-padded to 32), the 16x16 PatchGAN, jitter 28 -> 31 -> 28 and
    # no mirroring (a mirrored digit is not a digit), batch 10 (the paper's largest).
    "pix2pix-edges2digits": dict(
        problem="image", game="pix2pix", dataset="edges2digits:tfds:mnist:test", patch_layers=1,
        l1_weight=100.0, mirror=False, optimizer="adam", g_lr=2e-4, d_lr=2e-4, beta_1=0.5, beta_2=0.999,
        batch_size=10, steps_per_epoch=200, epochs=20, width=64),
    # CycleGAN (Zhu et al. 2017) as the paper trains horse2zebra (256 px, tfds cycle_gan, which
    # needs a download): ResNet generator with 9 blocks, 70x70 PatchGAN, least-squares loss,
    # cycle 10, identity 0.5 x 10, history of 50, Adam(2e-4, 0.5), batch 1, 100 epochs at the
    # rate then 100 falling linearly to zero.
    "cyclegan": dict(
        problem="image", game="cyclegan", dataset="domains:tfds:cycle_gan/horse2zebra", image_size=256,
        res_blocks=9, patch_layers=3, cycle_weight=10.0, identity_weight=0.5, pool_size=50, optimizer="adam",
        g_lr=2e-4, d_lr=2e-4, beta_1=0.5, beta_2=0.999, batch_size=1, steps_per_epoch=1067, epochs=200,
        linear_decay_epochs=100, width=64),
    # The same at digit size, offline: scikit-learn's digits into MNIST's (data/unpaired.py), 6
    # blocks (the paper's 128 px choice) on 7x7 maps, the 16x16 PatchGAN, jitter without
    # mirroring, batch 1 as the paper.
    "cyclegan-digits2mnist": dict(
        problem="image", game="cyclegan", dataset="digits2mnist:tfds:mnist:test", res_blocks=6, patch_layers=1,
        cycle_weight=10.0, identity_weight=0.5, pool_size=50, mirror=False, optimizer="adam", g_lr=2e-4,
        d_lr=2e-4, beta_1=0.5, beta_2=0.999, batch_size=1, steps_per_epoch=1000, epochs=20,
        linear_decay_epochs=10, width=32),
    # SRResNet and SRGAN (Ledig et al. 2017) on the photographs scikit-image and scikit-learn
    # bundle (offline): 96x96 HR crops, 4x bicubic downsamples, batch 16, Adam(1e-4, 0.9), 16
    # residual blocks.  srresnet-photos trains G alone on the pixel MSE; srgan-photos adds the
    # discriminator at 1e-3 (with --init-from a srresnet-photos run, as the paper starts) and
    # keeps the pixel content loss offline (the paper's SRGAN-MSE; --content vgg19 with
    # --content-weights FILE is its VGG54).
    "srresnet-photos": dict(
        problem="image", game="srgan", dataset="sr-photos", image_size=96, res_blocks=16, gan_weight=0.0,
        content="pixels", optimizer="adam", g_lr=1e-4, d_lr=1e-4, beta_1=0.9, beta_2=0.999, batch_size=16,
        steps_per_epoch=500, epochs=20, width=64),
    "srgan-photos": dict(
        problem="image", game="srgan", dataset="sr-photos", image_size=96, res_blocks=16, gan_weight=1e-3,
        content="pixels", optimizer="adam", g_lr=1e-4, d_lr=1e-4, beta_1=0.9, beta_2=0.999, batch_size=16,
        steps_per_epoch=500, epochs=20, width=64),
    # LAPGAN (Denton et al. 2015) on 28-px digits: 3 levels, 7 -> 14 -> 28, as the paper's 28x28
    # CIFAR-10 crops (8 -> 14 -> 28 there).  The paper's base MLPs (G 1200, D 600 units), band nets
    # of 64 channels (the authors' code), uniform noise, SGD(0.02, momentum 0.5) with the rate
    # divided by 1 + 4e-5 every epoch, batch 128.  The paper raises momentum by 0.0008 an epoch up
    # to 0.8: not done here (over 25 epochs it would reach 0.52).
    "lapgan-mnist": dict(
        problem="image", game="lapgan", dataset="tfds:mnist", levels=3, latent_dim=100, noise="uniform",
        g_hidden=(1200, 1200), d_hidden=(600, 600), width=64, optimizer="sgd", g_lr=0.02, d_lr=0.02,
        momentum=0.5, lr_decay=1 / (1 + 4e-5), lr_decay_epochs=1, batch_size=128, steps_per_epoch=78,
        epochs=25),
    # StackGAN (Zhang et al. 2017) on captioned digits (data/captions.py): Stage I at 14 px, Stage II
    # at 28 (--stage 2 --init-from STAGE1_RUN), CA with c of 128 and KL weight 2, z of 100, Adam(2e-4,
    # 0.5), batch 64, the rate halved every 50 epochs (the authors' Stage-I setting); width 32
    # (the code's 128 channels at 64 px are out of reach of 2 cores).
    "stackgan-captions2digits": dict(
        problem="image", game="stackgan", dataset="captions2digits:tfds:mnist:test", stage=1, c_dim=128,
        kl_weight=2.0, latent_dim=100, res_blocks=2, width=32, optimizer="adam", g_lr=2e-4, d_lr=2e-4, beta_1=0.5,
        beta_2=0.999, lr_decay=0.5, lr_decay_epochs=50, batch_size=64, steps_per_epoch=125, epochs=100),
}
# The same three on CIFAR-10 (32x32x3): attention at 16 px.
for _name in ("sngan", "sagan", "biggan-lite"):
    PRESETS[f"{_name}-cifar10"] = dict(PRESETS[_name], dataset="tfds:cifar10")
    if PRESETS[_name].get("attention"):
        PRESETS[f"{_name}-cifar10"]["attention"] = 16
# The character-level WGAN-GP language model (Gulrajani et al. 2017, gan_language.py) on the
# English text CPython ships (offline): 32 characters a line, 5 residual blocks a net, lambda 10,
# 10 critic steps, Adam(1e-4, 0.5, 0.9), batch 64, z of 128 -- the paper's, but for the width:
# 64 channels, not 512.  A train step (10 critic steps with the penalty's double backprop, 1
# generator step) costs ~0.6 TFLOP at 128 channels: a few hundred steps in 30 minutes on 2 cores;
# 64 channels is a quarter of that: ~1 s a step, 1,192 steps in 20 minutes (docs/quality.md Q10).
PRESETS["text-wgan-gp"] = dict(
    problem="text", game="chargan", dataset="pydoc-topics", seq_len=32, vocab=2048, latent_dim=128, width=64,
    res_blocks=5, loss="wasserstein", penalty="gp", penalty_weight=10.0, n_critic=10, optimizer="adam",
    g_lr=1e-4, d_lr=1e-4, beta_1=0.5, beta_2=0.9, batch_size=64, steps_per_epoch=100, epochs=20, eval_every=1,
    eval_samples=1000, plot_every=1)
# MidiNet (Yang et al. 2017) on the Bach chorales music21 ships (offline): 16-step bars of two
# octaves with their chords, the previous bar as condition, z of 100, batch 72, one-sided label
# smoothing 0.9, feature matching 0.1 / 0.01 and two G steps per D step, Adam(beta_1 0.5) at the
# code's rate 5e-5 (its help string says 2e-4), 20 epochs (the code's); 36,110 training bars
# (the chorales' 3,532 bars with a chord, less the held-out tunes', in the 12 keys).
PRESETS["midinet-chorales"] = dict(
    problem="music", game="midinet", dataset="chorales", chords=True, bars=8, latent_dim=100, width=128,
    n_critic=1, g_steps=2, optimizer="adam", g_lr=5e-5, d_lr=5e-5, beta_1=0.5, beta_2=0.999, batch_size=72,
    steps_per_epoch=500, epochs=20, eval_every=1, eval_samples=2000, plot_every=1)
# MidiNet's Model 1 (the paper's melody generator without a chord condition) on O'Neill's Music
# of Ireland (1850) in music21's corpus (offline): melodies alone, the folk collections carry no
# chords; the chorales preset's nets and step.  735 tunes in 4/4 or 2/2, 10,717 bars; 76 tunes
# held out; 53,391 training bars over the 12 keys (docs/design.md).
PRESETS["midinet-folk"] = dict(PRESETS["midinet-chorales"], dataset="folk:oneills", chords=False)
for _values in PRESETS.values():  # image runs draw their sample grid every epoch
    if _values.get("problem") == "image":
        _values.setdefault("plot_every", 1)
DEFAULT_PRESET = "ring8"


def preset(name: str, **overrides: Any) -> Config:
    """The preset `name` with `overrides` applied, validated."""
    if name not in PRESETS:
        raise ConfigError("preset", f"{name!r} is not one of: {', '.join(sorted(PRESETS))}")
    values = dict(PRESETS[name])
    values.update(overrides)
    return Config.from_dict(values).validate()
