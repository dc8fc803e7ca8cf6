"""The GAN game (Goodfellow et al. 2014, Algorithm 1) on the shared base: k critic steps, then a
generator step, with conditioning (cGAN, AC-GAN), packing (PacGAN), R1, a penalty and a weight average."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfgan_app import nets
from tfgan_app.games import losses, optimizers, penalties
from tfgan_app.games.base import AdversarialGame, GameConfigError, replica_count

# Which trackers each loss family reports (names shown by fit's progress bar).
_PROBABILITY_METRICS = ("d_loss", "g_loss", "d_real", "d_fake", "d_objective")
_SCORE_METRICS = ("d_loss", "g_loss", "d_real", "d_fake")
# Penalties that are per example (a BatchNorm critic mixes examples: refused).
_PER_EXAMPLE_PENALTIES = ("gp", "lp", "fd", "dragan")


class GANConfigError(GameConfigError):
    """The networks do not fit the chosen game (e.g. BatchNorm in a WGAN-GP critic)."""


def _has_batch_norm(model: keras.Model) -> bool:
    return any(isinstance(layer, keras.layers.BatchNormalization) for layer in model._flatten_layers())


def pack_samples(x, m: int):
    """PacGAN's packing (Lin et al. 2018): m consecutive samples become one discriminator input.

    (B, d) -> (B/m, m*d); images (B, H, W, C) -> (B/m, H, W, m*C), the samples stacked as
    channels.  The discriminator then judges m samples jointly, all real or all fake, which
    penalises a generator that drops modes.  m = 1 returns x.
    """
    if m == 1:
        return x
    if len(x.shape) == 2:
        return tf.reshape(x, [-1, m * x.shape[1]])  # (B/m, m*d)
    _, h, w, c = x.shape
    x = tf.reshape(x, [-1, m, h, w, c])  # (B/m, m, H, W, C)
    return tf.reshape(tf.transpose(x, [0, 2, 3, 1, 4]), [-1, h, w, m * c])  # (B/m, H, W, m*C)


def global_std(x) -> tf.Tensor:
    """The standard deviation of every value of the global batch x (this replica's rows), float32."""
    x = tf.cast(x, tf.float32)
    stats = tf.stack([tf.cast(tf.size(x), tf.float32), tf.reduce_sum(x), tf.reduce_sum(tf.square(x))])
    ctx = tf.distribute.get_replica_context()
    if ctx is not None and ctx.num_replicas_in_sync > 1:
        stats = ctx.all_reduce(tf.distribute.ReduceOp.SUM, stats)
    n, total, squares = tf.unstack(stats)
    mean = total / n
    return tf.sqrt(tf.maximum(squares / n - tf.square(mean), 0.0))


class GAN(AdversarialGame):
    """Generator and discriminator playing the GAN game.

    Data batches hold `n_critic * batch_size` real examples (optionally with
    integer labels): each of the n_critic discriminator steps gets its own slice,
    then the generator takes g_steps steps, each on `batch_size` fresh noise vectors.

    Args:
      generator: maps z (B, latent_dim) -- and labels (B,) when conditional -- to samples.
      discriminator: maps samples (and labels for "cgan" and "projection") to logits (B, 1); for
        "acgan" to [logits (B, 1), class_logits (B, num_classes)].
      latent_dim: size of z.
      loss: a family of losses.LOSS_FAMILIES: "minimax", "non-saturating", "wasserstein",
        "hinge", "least-squares" or "wgan-clip" (Wasserstein with weight clipping).
      penalty: "none" or a penalties.PENALTIES name ("gp", "lp", "fd", "dragan"), added to
        every discriminator step's loss with weight `penalty_weight`.
      penalty_weight: its lambda.
      n_critic: discriminator steps per train step (Algorithm 1's k).
      g_steps: generator steps after the n_critic discriminator steps (Algorithm 1: 1;
        PacGAN's Stacked MNIST code: 2).
      clip_value: c of WGAN weight clipping.
      noise: "normal", "uniform" (U[-r, r]) or "stratified" (linspace(-r, r, B) + U(0, 0.01)).
      noise_range: r.
      conditioning: "none", "cgan", "acgan" or "projection" (labels to G and D, as cgan;
        the nets condition by conditional BatchNorm and projection, nets/sngan.py).
      num_classes: label count of conditional models.
      aux_weight: weight of AC-GAN's classification loss.
      seed: seed of the noise generator the model owns.
      update: "alternating" (Algorithm 1) or "simultaneous" (the TF DCGAN tutorial's step:
        both gradients from one forward pass; n_critic must be 1).
      pack: PacGAN's m: the discriminator sees m samples at a time (`pack_samples`; its
        input is m times wider); batches must be multiples of m.  Unconditional models only.
      ema_decay: beta of the generator's weight average (0: none).  After every generator
        step, theta_avg <- beta * theta_avg + (1 - beta) * theta for every generator
        variable, BatchNorm statistics included (Yazici et al. 2019; Karras et al. 2018
        use beta = 0.999).  `generate`, and everything that samples (evaluation, grids,
        export), then uses the average (`sampler`); training uses `generator`.
      r1_weight: gamma of the R1 penalty (Mescheder et al. 2018), gamma / 2 *
        E||grad_x D(x)||^2 on the real batch as the discriminator sees it (packed), added
        to every discriminator step's loss (0: none), with any loss and any penalty.  With
        BatchNorm in D it is the gradient of the batch's summed logits.
      ortho_weight: beta of BigGAN's orthogonal regularization of the generator's kernels
        (penalties.orthogonal_regularization), added to every generator step's loss (0: none).

    Under a tf.distribute strategy every loss is reduced by the global batch, and each
    replica draws its own rows of the global batch's noise (the base's `draw`), so R
    replicas compute what one device computes for the same global batch.  With
    LossScaleOptimizers (float16) a step whose gradients are non-finite anywhere is
    skipped on every replica, and the generator skips with the critic (the base's `apply`).
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model, *, latent_dim: int,
                 loss: str = "non-saturating", penalty: str = "none", penalty_weight: float = 10.0,
                 n_critic: int = 1, clip_value: float = 0.01, noise: str = "normal",
                 noise_range: float = 1.0, conditioning: str = "none", num_classes: int = 0,
                 aux_weight: float = 1.0, seed: int = 0, update: str = "alternating", pack: int = 1,
                 g_steps: int = 1, ema_decay: float = 0.0, r1_weight: float = 0.0, ortho_weight: float = 0.0,
                 **kwargs):
        if loss == "wgan-gp":  # the old name: the Wasserstein loss with the gradient penalty
            loss, penalty = "wasserstein", ("gp" if penalty == "none" else penalty)
        if loss not in losses.LOSS_FAMILIES:
            raise GANConfigError(f"loss: {loss!r} is not one of {', '.join(losses.LOSS_FAMILIES)}")
        if penalty != "none" and penalty not in penalties.PENALTIES:
            raise GANConfigError(f"penalty: {penalty!r} is not one of none, {', '.join(penalties.PENALTIES)}")
        if penalty in _PER_EXAMPLE_PENALTIES and _has_batch_norm(discriminator):
            raise GANConfigError(
                f"--penalty {penalty}: the critic contains BatchNormalization, but the penalty is per "
                f"example and batch statistics mix examples; use LayerNormalization (--d-norm layer) or "
                f"--penalty none")
        if update not in ("alternating", "simultaneous") or (
                update == "simultaneous" and (n_critic, g_steps) != (1, 1)):
            raise GANConfigError(f"update: {update!r} with n_critic={n_critic}, g_steps={g_steps}; expected "
                                 f"'alternating', or 'simultaneous' with n_critic=1 and g_steps=1")
        if n_critic < 1 or g_steps < 1:
            raise GANConfigError(f"n_critic={n_critic}, g_steps={g_steps}: both must be >= 1")
        if pack < 1 or (pack > 1 and conditioning != "none"):
            raise GANConfigError(f"pack: {pack} with conditioning {conditioning!r}; expected pack >= 1, "
                                 f"and 1 for conditional models (packing would mix labels)")
        if not r1_weight >= 0.0:
            raise GANConfigError(f"r1_weight: {r1_weight}; expected gamma >= 0 (0: no R1 penalty)")
        if not ortho_weight >= 0.0:
            raise GANConfigError(f"ortho_weight: {ortho_weight}; expected beta >= 0 (0: no orthogonal regularization)")
        if not penalty_weight >= 0.0:
            raise GANConfigError(f"penalty_weight: {penalty_weight}; expected lambda >= 0")
        if not 0.0 <= ema_decay < 1.0:
            raise GANConfigError(f"ema_decay: {ema_decay}; expected 0 (no average) or a decay in (0, 1)")
        if conditioning != "none" and num_classes < 2:
            raise GANConfigError(f"conditioning {conditioning!r} needs num_classes >= 2, got {num_classes}")
        names = list(_PROBABILITY_METRICS if loss in losses.PROBABILITY_LOSSES else _SCORE_METRICS)
        if loss in ("wasserstein", "wgan-clip"):
            names.append("w_dist")
        if penalty != "none":
            names.append(penalty)
        if r1_weight:
            names.append("r1")
        if conditioning == "acgan":
            names += ["aux_loss", "aux_acc"]
        if ortho_weight:
            names.append("ortho")
        super().__init__({"generator": generator, "discriminator": discriminator}, seed=seed,
                         trackers=names, **kwargs)
        self.latent_dim = int(latent_dim)
        self.loss_name = loss
        self.penalty = penalty
        self.penalty_weight = float(penalty_weight)
        self.n_critic = int(n_critic)
        self.g_steps = int(g_steps)
        self.clip_value = float(clip_value)
        self.noise = noise
        self.noise_range = float(noise_range)
        self.conditioning = conditioning
        self.num_classes = int(num_classes)
        self.aux_weight = float(aux_weight)
        self.update = update
        self.pack = int(pack)
        self.ema_decay = float(ema_decay)
        self.r1_weight = float(r1_weight)
        self.ortho_weight = float(ortho_weight)
        self.generator_ema = self.average("generator", ema_decay) if ema_decay else None
        self.d_loss_fn, self.g_loss_fn = losses.LOSS_FAMILIES[loss]

    # -- setup -------------------------------------------------------------------
    def compile(self, g_optimizer, d_optimizer, **kwargs):
        """The generator's and the discriminator's optimizers (built now, for checkpoints)."""
        super().compile({"g_optimizer": (g_optimizer, "generator"),
                         "d_optimizer": (d_optimizer, "discriminator")}, **kwargs)

    @property
    def conditional(self) -> bool:
        return self.conditioning != "none"

    # -- noise -------------------------------------------------------------------
    def sample_noise(self, n, seed) -> tf.Tensor:
        """z of shape (n, latent_dim) drawn with stateless seed (2,)."""
        r = self.noise_range
        if self.noise == "uniform":
            return tf.random.stateless_uniform([n, self.latent_dim], seed, -r, r)
        if self.noise == "stratified":
            grid = tf.linspace(-r, r, n)[:, tf.newaxis]  # (n, 1)
            return tf.cast(grid, tf.float32) + tf.random.stateless_uniform([n, 1], seed, 0.0, 0.01)
        return tf.random.stateless_normal([n, self.latent_dim], seed)

    def sample_labels(self, n, seed) -> tf.Tensor:
        return tf.random.stateless_uniform([n], seed, 0, self.num_classes, dtype=tf.int32)

    @property
    def sampler(self) -> keras.Model:
        """The generator users get: the weight average when ema_decay > 0, else `generator`."""
        return self.generator if self.generator_ema is None else self.generator_ema

    def generate(self, z, labels=None):
        """Samples: sampler(z) (or sampler(z, labels)) in inference mode, as float32."""
        inputs = [z, labels] if self.conditional else z
        return tf.cast(self.sampler(inputs, training=False), tf.float32)

    # -- what training, evaluation and export ask (AdversarialGame) ---------------------
    def samples(self, n: int, seed, batch: int = 500) -> np.ndarray:
        """n samples from noise drawn with stateless `seed`; a conditional model gets every
        class equally often (labels 0, 1, ..., K-1, 0, 1, ...)."""
        z = self.sample_noise(n, tf.constant(seed, tf.int64))
        labels = tf.range(n, dtype=tf.int32) % self.num_classes if self.conditional else None
        return np.concatenate([self.generate(z[i:i + batch], None if labels is None else labels[i:i + batch]).numpy()
                               for i in range(0, n, batch)])

    def sample_grid(self, seed, examples=None):
        """8x8 samples, or one row of 8 per class when conditional (the same noise in each column)."""
        seed = tf.constant(seed, tf.int64)
        if self.conditional:
            rows, cols = self.num_classes, 8
            z = tf.tile(self.sample_noise(cols, seed), [rows, 1])
            labels = tf.repeat(tf.range(rows, dtype=tf.int32), cols)  # (rows * cols,)
        else:
            rows, z, labels = 8, self.sample_noise(64, seed), None
        return (lambda: self.generate(z, labels).numpy()), rows

    def exported_networks(self) -> dict:
        """{"generator": the sampler} (the weight average under --g-ema)."""
        return {"generator": self.sampler}

    def _fake(self, z, labels=None):
        """G(z) (or G(z, labels)) of the generator being trained, in training mode, as float32."""
        inputs = [z, labels] if self.conditional else z
        return tf.cast(self.generator(inputs, training=True), tf.float32)

    def discriminate(self, x, labels=None, training=False, packed=False):
        """(logits (B/pack, 1), class_logits or None) of the discriminator on x (B, ...).

        packed=True: x is already packed (B/pack, ...).
        """
        if not packed:
            x = pack_samples(x, self.pack)
        if self.conditioning in ("cgan", "projection"):
            return self.discriminator([x, labels], training=training), None
        if self.conditioning == "acgan":
            logits, class_logits = self.discriminator(x, training=training)
            return logits, class_logits
        return self.discriminator(x, training=training), None

    # -- the algorithm ---------------------------------------------------------------
    def train_step(self, data):
        """Algorithm 1 (Goodfellow et al. 2014): k discriminator steps, then a generator step
        (g_steps of them, each on fresh noise, when g_steps > 1).

        With update="simultaneous": the TF DCGAN tutorial's step instead (simultaneous_step).
        """
        real, labels = (data if isinstance(data, (tuple, list)) else (data, None))
        if not self.conditional:
            labels = None
        if self.update == "simultaneous":
            self.simultaneous_step(real, labels)
            return self.results()
        b = tf.shape(real)[0] // self.n_critic
        critic_ok = None  # under loss scaling: did every critic step of this step apply?
        for i in range(self.n_critic):  # Python loop: unrolled (no AutoGraph in train_step)
            x = real[i * b:(i + 1) * b]  # under R replicas see training.distribute.arrange_for_replicas
            y = None if labels is None else labels[i * b:(i + 1) * b]
            applied = self.discriminator_step(x, y)
            critic_ok = applied if critic_ok is None else tf.logical_and(critic_ok, applied)
        for _ in range(self.g_steps):
            self.generator_step(b, critic_ok)
            self.update_averages()
        return self.results()

    def discriminator_step(self, real, real_labels=None):
        """Sample z, ascend the discriminator's objective (descend L_D [+ R1] [+ penalty] [+ L_aux]).

        Returns whether the update was applied (a bool tensor) under loss scaling, else None.
        """
        z_seed, p_seed, y_seed = self.next_seed(3)
        z, fake_labels = self._draw_fake_inputs(tf.shape(real)[0], z_seed, y_seed)
        fake = self._fake(z, fake_labels)
        with tf.GradientTape() as tape:
            total, parts = self._discriminator_loss(real, real_labels, fake, fake_labels, p_seed)
            scaled = self.scaled(self.d_optimizer, total)
        applied = self.descend("d_optimizer", tape, scaled)
        if self.loss_name == "wgan-clip":
            penalties.clip_weights(self.discriminator.trainable_weights, self.clip_value)
        self._track_discriminator(parts)
        return applied

    def generator_step(self, n, critic_ok=None):
        """Sample z, descend L_G through the (fixed) discriminator.

        `critic_ok` (loss scaling only): False when a critic step of this train step was
        skipped; the generator then skips too.
        """
        z_seed, y_seed = self.next_seed(2)
        z, labels = self._draw_fake_inputs(n, z_seed, y_seed)
        with tf.GradientTape() as tape:
            fake = self._fake(z, labels)
            logits, cls = self.discriminate(fake, labels, training=True)
            g_loss, total = self._generator_loss(logits, cls, labels)
            scaled = self.scaled(self.g_optimizer, total)
        self.descend("g_optimizer", tape, scaled, critic_ok)
        self.track("g_loss", g_loss)

    def simultaneous_step(self, real, real_labels=None):
        """The TF DCGAN tutorial's step: one forward pass of G and D, both gradients, both applied.

        Both nets descend their losses at the same point (G through the critic before its
        update): one pass of G and of D on the fakes fewer than Algorithm 1.
        """
        z_seed, p_seed, y_seed = self.next_seed(3)
        z, fake_labels = self._draw_fake_inputs(tf.shape(real)[0], z_seed, y_seed)
        g_vars, d_vars = self.generator.trainable_weights, self.discriminator.trainable_weights
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self._fake(z, fake_labels)
            d_total, parts = self._discriminator_loss(real, real_labels, fake, fake_labels, p_seed)
            g_loss, g_total = self._generator_loss(parts["fake_logits"], parts["fake_cls"], fake_labels)
            d_scaled = self.scaled(self.d_optimizer, d_total)
            g_scaled = self.scaled(self.g_optimizer, g_total)
        g_grads = g_tape.gradient(g_scaled, g_vars)
        d_grads = d_tape.gradient(d_scaled, d_vars)
        both_ok = self.all_finite(g_grads + d_grads) if self.loss_scaled else None
        self.apply(self.g_optimizer, g_grads, g_vars, both_ok, checked=True)
        self.apply(self.d_optimizer, d_grads, d_vars, both_ok, checked=True)
        if self.loss_name == "wgan-clip":
            penalties.clip_weights(d_vars, self.clip_value)
        self._track_discriminator(parts)
        self.track("g_loss", g_loss)
        self.update_averages()

    # -- pieces of the steps ---------------------------------------------------------
    def _draw_fake_inputs(self, n, z_seed, y_seed):
        """(z (n, latent_dim), labels (n,) or None): this replica's rows of the global draw."""
        z = self.draw(lambda m: self.sample_noise(m, z_seed), n)
        labels = self.draw(lambda m: self.sample_labels(m, y_seed), n) if self.conditional else None
        return z, labels

    def _discriminator_loss(self, real, real_labels, fake, fake_labels, penalty_seed):
        """(L_D [+ L_R1] [+ penalty] [+ L_aux], the parts the trackers show); call inside the critic's tape.

        R1 and the penalties act on what the discriminator sees: packed inputs.
        """
        reduce, scale = self.reduce, self.loss_scale(self.d_optimizer)
        real_p, fake_p = pack_samples(real, self.pack), pack_samples(fake, self.pack)  # (B/m, ...)

        def critic(x):  # logits of packed inputs (AC-GAN's class logits are kept in `class_logits`)
            labels = real_labels
            if labels is not None:  # a penalty may judge k points per real example (fd: 2)
                labels = tf.tile(labels, [tf.shape(x)[0] // tf.shape(labels)[0]])
            logits, cls = self.discriminate(x, labels, training=True, packed=True)
            class_logits.append(cls)
            return logits

        class_logits = []
        if self.r1_weight:  # D(x) from the penalty's own forward pass: D runs on x once
            r1, real_logits = penalties.r1_penalty(critic, real_p, weight=self.r1_weight, reduce=reduce,
                                                   scale=scale)
            real_cls = class_logits[0]
        else:
            real_logits, real_cls = self.discriminate(real_p, real_labels, training=True, packed=True)
        fake_logits, fake_cls = self.discriminate(fake_p, fake_labels, training=True, packed=True)
        real_logits = tf.cast(real_logits, tf.float32)
        fake_logits = tf.cast(fake_logits, tf.float32)
        d_loss = self.d_loss_fn(real_logits, fake_logits, reduce=reduce)
        parts = dict(d_loss=d_loss, real_logits=real_logits, fake_logits=fake_logits,
                     real_cls=real_cls, fake_cls=fake_cls, real_labels=real_labels)
        total = d_loss
        if self.r1_weight:
            parts["r1"] = r1
            total += r1
        if self.penalty != "none":
            parts["penalty"] = self._penalty(critic, real_p, fake_p, penalty_seed)
            total += parts["penalty"]
        if self.conditioning == "acgan":
            parts["aux"] = (losses.auxiliary_classifier_loss(real_cls, real_labels, reduce=reduce)
                            + losses.auxiliary_classifier_loss(fake_cls, fake_labels, reduce=reduce))
            total += self.aux_weight * parts["aux"]
        return total, parts

    def _penalty(self, critic, real_p, fake_p, seed):
        """The --penalty term on packed real and fake batches, its random draws from `seed`:
        one uniform per example (and per coordinate for DRAGAN's perturbation), drawn for the
        global batch (`draw`), so R replicas compute what one device computes."""
        n = tf.shape(real_p)[0]
        kw = dict(weight=self.penalty_weight, reduce=self.reduce)
        if self.penalty == "fd":
            a_seed, b_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
            a = self.draw(lambda m: tf.random.stateless_uniform([m], a_seed), n)
            b = self.draw(lambda m: tf.random.stateless_uniform([m], b_seed), n)
            return penalties.finite_difference_penalty(critic, real_p, fake_p, a, b, **kw)
        kw["scale"] = self.loss_scale(self.d_optimizer)
        alpha = self.draw(lambda m: tf.random.stateless_uniform([m], seed), n)
        if self.penalty == "dragan":
            u_seed = tf.random.experimental.stateless_fold_in(seed, 1)
            shape = tf.shape(real_p)[1:]
            u = self.draw(lambda m: tf.random.stateless_uniform(tf.concat([[m], shape], 0), u_seed), n)
            return penalties.dragan_penalty(critic, real_p, u, alpha, global_std(real_p), **kw)
        return penalties.PENALTIES[self.penalty](critic, real_p, fake_p, alpha, **kw)

    def _generator_loss(self, fake_logits, fake_cls, labels):
        """(L_G, L_G [+ L_aux] [+ R_beta]) from the critic's outputs on G's samples (and G's weights)."""
        g_loss = self.g_loss_fn(tf.cast(fake_logits, tf.float32), reduce=self.reduce)
        total = g_loss
        if self.conditioning == "acgan":
            total += self.aux_weight * losses.auxiliary_classifier_loss(fake_cls, labels, reduce=self.reduce)
        if self.ortho_weight:  # BigGAN: R_beta on G's weights, with the generator's loss
            ortho = penalties.orthogonal_regularization(self._ortho_kernels(), weight=self.ortho_weight)
            self.track("ortho", ortho, global_loss=False)  # the same on every replica
            total += ortho / replica_count()  # the replicas' gradients are summed, like the reduced losses'
        return g_loss, total

    def _ortho_kernels(self):
        """The generator's kernels (Dense, conv, conditional-BN maps), output filters last: what
        BigGAN regularises.  A Conv2DTranspose kernel (kh, kw, out, in) is read with axes 2 and 3
        swapped, so its filters are the columns too.  Embedding tables (the shared class
        embedding, per-class CBN tables) are left out, as BigGAN's code leaves out G.shared."""
        kernels = []
        for layer in self.generator._flatten_layers():
            kernel = getattr(layer, "kernel", None)
            if kernel is None or not layer.trainable or not getattr(kernel, "trainable", False):
                continue
            if isinstance(layer, keras.layers.Conv2DTranspose):
                kernel = tf.transpose(kernel, [0, 1, 3, 2])  # (kh, kw, in, out)
            kernels.append(kernel)
        return kernels

    def _track_discriminator(self, parts):
        d_loss, real_logits, fake_logits = parts["d_loss"], parts["real_logits"], parts["fake_logits"]
        self.track("d_loss", d_loss)
        if self.loss_name in losses.PROBABILITY_LOSSES:
            self.track("d_real", tf.reduce_mean(tf.sigmoid(real_logits)), global_loss=False)  # D(x)
            self.track("d_fake", tf.reduce_mean(tf.sigmoid(fake_logits)), global_loss=False)  # D(G(z))
            self.track("d_objective", -d_loss)  # E[log D(x)] + E[log(1 - D(G(z)))]
        else:  # raw scores
            self.track("d_real", tf.reduce_mean(real_logits), global_loss=False)
            self.track("d_fake", tf.reduce_mean(fake_logits), global_loss=False)
        if "w_dist" in self.trackers:
            self.track("w_dist", -d_loss)  # E[D(x)] - E[D(G(z))]
        if self.penalty != "none":
            self.track(self.penalty, parts["penalty"])
        if self.r1_weight:
            self.track("r1", parts["r1"])
        if self.conditioning == "acgan":
            self.track("aux_loss", parts["aux"])
            hits = tf.cast(tf.equal(tf.argmax(parts["real_cls"], -1, output_type=tf.int32),
                                    tf.cast(parts["real_labels"], tf.int32)), tf.float32)
            self.track("aux_acc", tf.reduce_mean(hits), global_loss=False)


def from_config(config, data_shape: tuple | None = None, num_classes: int = 0) -> GAN:
    """The GAN of `config`: its networks (nets.build) and both optimizers, compiled.

    Call inside strategy.scope() when distributing.  Under mixed_float16 both optimizers
    are LossScaleOptimizers (compile would wrap at most one: we wrap both).
    """
    if isinstance(data_shape, dict):  # paired, unpaired, text or music data
        raise GameConfigError(f"--game {config.game} generates images or points from noise; --dataset "
                              f"{config.dataset} holds {', '.join(sorted(data_shape))} (paired images: --game "
                              f"pix2pix; two domains: --game cyclegan; text: --game chargan; melodies: --game midinet)")
    num_classes = num_classes or config.num_classes
    generator, discriminator = nets.build(config, data_shape, num_classes)
    return compiled(GAN(generator, discriminator, **game_arguments(config, num_classes)), config)


def game_arguments(config, num_classes: int = 0) -> dict:
    """GAN's keyword arguments from `config` (its game settings: loss, penalty, n_critic, ...)."""
    return dict(latent_dim=config.latent_dim, loss=config.loss, penalty=config.penalty,
                penalty_weight=config.penalty_weight, n_critic=config.n_critic, clip_value=config.clip_value,
                noise=config.noise, noise_range=config.noise_range, conditioning=config.conditioning,
                num_classes=num_classes, aux_weight=config.aux_weight, seed=config.seed, update=config.update,
                pack=config.pack, g_steps=config.g_steps, ema_decay=config.g_ema, r1_weight=config.r1_weight,
                ortho_weight=config.ortho_weight)


def compiled(gan: GAN, config) -> GAN:
    """`gan` compiled with config's optimizers: the rate schedules count each net's own steps."""
    decay_epochs = config.lr_decay_epochs * config.steps_per_epoch
    g_opt = optimizers.from_config(config, config.g_lr, decay_epochs * config.g_steps, config.g_steps)
    d_opt = optimizers.from_config(config, config.d_lr, decay_epochs * config.n_critic, config.n_critic)
    gan.compile(g_optimizer=g_opt, d_optimizer=d_opt, jit_compile=config.jit_compile,
                steps_per_execution=config.steps_per_execution)
    return gan
