"""CycleGAN (Zhu et al. 2017): unpaired translation between two domains A and B.

    G: A -> B, F: B -> A, D_B judges B, D_A judges A.
    L(G, F, D_A, D_B) = L_GAN(G, D_B) + L_GAN(F, D_A) + lambda L_cyc(G, F)            (eq. 3)
    L_cyc(G, F) = E_a ||F(G(a)) - a||_1 + E_b ||G(F(b)) - b||_1                      (eq. 2)
    L_idt(G, F) = E_b ||G(b) - b||_1 + E_a ||F(a) - a||_1,  weight 0.5 lambda         (Sec. 5.2)

with the least-squares adversarial loss of Sec. 4: G minimises E_a[(D_B(G(a)) - 1)^2] and D_B
minimises E_b[(D_B(b) - 1)^2] + E_a[D_B(G(a))^2], halved in the authors' code "to slow down
the rate at which D learns".  Each discriminator is updated with a history of 50 generated
images rather than the latest ones (`HistoryPool`; Shrivastava et al. 2017).  The step follows
the authors' `CycleGANModel.optimize_parameters`: one forward pass of both generators, a
step of both generators on their whole loss, then a step of both discriminators on real
images against images from the pools.  The authors keep one Adam for G and F and one for
D_A and D_B; Adam's update is per weight, so one optimizer per network here is the same
update (the step counts are equal).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfgan_app.config import Config
from tfgan_app.games import losses, optimizers
from tfgan_app.games.base import AdversarialGame, GameConfigError
from tfgan_app.games.pix2pix import l1_distance
from tfgan_app.nets import patchgan, resnet
from tfgan_app.nets.precision import precision_policy


def least_squares_generator_loss(fake_scores, reduce=tf.reduce_mean):
    """E[(D(G(a)) - 1)^2]: the paper's generator loss (LSGAN's, without its 1/2)."""
    return 2.0 * losses.least_squares_generator_loss(fake_scores, reduce)


class HistoryPool:
    """The last `size` generated images a discriminator sees (the authors' ImagePool).

    For each generated image in turn: while the pool is not full, the image is stored and
    returned; once full, with probability 1/2 a random stored image is returned and the new
    one takes its place, else the new image is returned.  The pool and its fill count are
    variables of the game (in the checkpoint: a resumed run continues with the same history),
    updated from the whole global batch in its order, so R replicas keep the pool one device
    keeps.
    """

    def __init__(self, game: keras.Model, name: str, size: int, image_shape: tuple):
        self.size = int(size)
        self.images = game.add_weight(shape=(max(self.size, 1), *image_shape), initializer="zeros",
                                      trainable=False, name=f"{name}_images", aggregation="only_first_replica")
        self.count = game.add_weight(shape=(), initializer="zeros", dtype="int32", trainable=False,
                                     name=f"{name}_count", aggregation="only_first_replica")

    def query(self, fakes, seed):
        """The images (this replica's rows) to train the discriminator on, for generated `fakes`."""
        if self.size == 0:
            return fakes
        ctx = tf.distribute.get_replica_context()
        replicas = ctx.num_replicas_in_sync if ctx is not None else 1
        batch = tf.shape(fakes)[0]
        every = tf.cast(ctx.all_gather(fakes, axis=0) if replicas > 1 else fakes, self.images.dtype)  # global, in order
        n = tf.shape(every)[0]
        u_seed, j_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
        coin = tf.random.stateless_uniform([n], u_seed)
        slot_drawn = tf.random.stateless_uniform([n], j_seed, 0, self.size, dtype=tf.int32)

        def one(i, pool, count, chosen):  # image i, as the authors' loop takes them
            image = every[i]
            filling = count < self.size
            swap = tf.logical_and(tf.logical_not(filling), coin[i] > 0.5)
            slot = tf.where(filling, count, slot_drawn[i])
            chosen = chosen.write(i, tf.where(swap, pool[slot], image))
            stored = tf.tensor_scatter_nd_update(pool, tf.reshape(slot, [1, 1]), image[None])
            pool = tf.where(tf.logical_or(filling, swap), stored, pool)
            return i + 1, pool, tf.minimum(count + 1, self.size), chosen

        _, pool, count, chosen = tf.while_loop(
            lambda i, *_: i < n, one,
            (tf.constant(0), tf.convert_to_tensor(self.images), tf.convert_to_tensor(self.count),
             tf.TensorArray(self.images.dtype, size=n, element_shape=every.shape[1:])))
        self.images.assign(pool)
        self.count.assign(count)
        chosen = chosen.stack()
        if replicas > 1:
            start = ctx.replica_id_in_sync_group * batch
            chosen = chosen[start:start + batch]
        return tf.ensure_shape(tf.cast(chosen, fakes.dtype), fakes.shape)


class CycleGAN(AdversarialGame):
    """The CycleGAN game.  data: (images of A, images of B), unpaired, float32 in [-1, 1]."""

    def __init__(self, g_ab, g_ba, d_a, d_b, *, cycle_weight: float = 10.0, identity_weight: float = 0.5,
                 pool_size: int = 50, seed: int = 0, **kwargs):
        super().__init__({"g_ab": g_ab, "g_ba": g_ba, "d_a": d_a, "d_b": d_b}, seed=seed,
                         trackers=("g_loss", "g_gan", "cycle", "identity", "d_a_loss", "d_b_loss"), **kwargs)
        self.cycle_weight, self.identity_weight = float(cycle_weight), float(identity_weight)
        self.pool_a = HistoryPool(self, "pool_a", pool_size, tuple(g_ba.output.shape[1:]))  # generated A images
        self.pool_b = HistoryPool(self, "pool_b", pool_size, tuple(g_ab.output.shape[1:]))

    def compile(self, optimizers: dict, **kwargs):
        """optimizers: {network name: optimizer} for g_ab, g_ba, d_a, d_b."""
        super().compile({f"{name}_optimizer": (opt, name) for name, opt in optimizers.items()}, **kwargs)

    def checkpoint_items(self) -> dict:
        items = super().checkpoint_items()
        for name, pool in (("pool_a", self.pool_a), ("pool_b", self.pool_b)):
            items[f"{name}_images"], items[f"{name}_count"] = pool.images, pool.count
        return items

    def _step(self, names, tape, loss):
        """Descend `loss` on the networks `names` with their optimizers (skipping together under loss scaling)."""
        opts = [self.optimizers[f"{n}_optimizer"] for n in names]
        variables = [self.networks[n].trainable_weights for n in names]
        scaled = self.scaled(opts[0], loss)
        grads = tape.gradient(scaled, [v for vs in variables for v in vs])
        ok = self.all_finite(grads) if self.loss_scaled else None
        start = 0
        for opt, vs in zip(opts, variables):
            self.apply(opt, grads[start:start + len(vs)], vs, ok, checked=ok is not None)
            start += len(vs)

    def train_step(self, data):
        a, b = data
        g_ab, g_ba, d_a, d_b = self.g_ab, self.g_ba, self.d_a, self.d_b
        lam = self.cycle_weight
        # 1. G and F: adversarial + lambda cycle + 0.5 lambda identity, D_A and D_B held fixed.
        with tf.GradientTape() as tape:
            fake_b = tf.cast(g_ab(a, training=True), tf.float32)
            fake_a = tf.cast(g_ba(b, training=True), tf.float32)
            cycle = (l1_distance(a, g_ba(fake_b, training=True), self.reduce)
                     + l1_distance(b, g_ab(fake_a, training=True), self.reduce))
            g_gan = (least_squares_generator_loss(d_b(fake_b, training=True), self.reduce)
                     + least_squares_generator_loss(d_a(fake_a, training=True), self.reduce))
            identity = tf.constant(0.0)
            if self.identity_weight:
                identity = (l1_distance(b, g_ab(b, training=True), self.reduce)
                            + l1_distance(a, g_ba(a, training=True), self.reduce))
            g_loss = g_gan + lam * cycle + self.identity_weight * lam * identity
        self._step(("g_ab", "g_ba"), tape, g_loss)
        # 2. D_A and D_B: real images against generated ones from the history pools.
        pool_seed_a, pool_seed_b = self.next_seed(2)
        old_a = self.pool_a.query(fake_a, pool_seed_a)
        old_b = self.pool_b.query(fake_b, pool_seed_b)
        with tf.GradientTape() as tape:
            d_a_loss = losses.least_squares_discriminator_loss(d_a(a, training=True), d_a(old_a, training=True),
                                                               self.reduce)
            d_b_loss = losses.least_squares_discriminator_loss(d_b(b, training=True), d_b(old_b, training=True),
                                                               self.reduce)
            d_loss = d_a_loss + d_b_loss  # the two share no weights: one gradient call serves both
        self._step(("d_a", "d_b"), tape, d_loss)
        for name, value in (("g_loss", g_loss), ("g_gan", g_gan), ("cycle", cycle), ("identity", identity),
                            ("d_a_loss", d_a_loss), ("d_b_loss", d_b_loss)):
            self.track(name, value)
        return self.results()

    # -- what training, evaluation and export ask -----------------------------------------
    @staticmethod
    def _run(net, x, batch: int = 500) -> np.ndarray:
        return np.concatenate([tf.cast(net(x[i:i + batch], training=False), tf.float32).numpy()
                               for i in range(0, len(x), batch)])

    def a_to_b(self, x, batch: int = 500) -> np.ndarray:
        return self._run(self.g_ab, x, batch)

    def b_to_a(self, x, batch: int = 500) -> np.ndarray:
        return self._run(self.g_ba, x, batch)

    def sample_grid(self, seed, examples=None):
        """Rows of 8: A, G(A), F(G(A)), B, F(B), G(F(B))."""
        if examples is None:
            raise GameConfigError("CycleGAN's picture grid shows real images: pass examples()")
        a, b = (np.asarray(t) for t in examples())
        cols = min(8, len(a), len(b))
        a, b = a[:cols], b[:cols]

        def draw():
            to_b, to_a = self.a_to_b(a), self.b_to_a(b)
            rows = [a, to_b, self.b_to_a(to_b), b, to_a, self.a_to_b(to_a)]
            c = max(r.shape[-1] for r in rows)
            return np.concatenate([np.repeat(r, c, -1) if r.shape[-1] != c else r for r in rows])

        return draw, 6

    def samples(self, n, seed, batch=500):
        raise GameConfigError("CycleGAN translates images and has no samples of its own; its figures "
                              "(the classifier's accuracy on translated held-out digits, cycle error) "
                              "are not built yet")

    def exported_networks(self) -> dict:
        return {"g_ab": self.g_ab, "g_ba": self.g_ba}


def from_config(config: Config, data_shape: dict | None = None, num_classes: int = 0) -> CycleGAN:
    """Two ResNet generators and two PatchGANs for data of shape {"a": (S, S, Ca), "b": (S, S, Cb)}."""
    if not isinstance(data_shape, dict) or set(data_shape) != {"a", "b"}:
        raise GameConfigError(f"--game cyclegan translates between two image domains: expected --dataset "
                              f"domains:A,B, domains:tfds:cycle_gan/NAME, digits2mnist:SPEC or tfrecords:DIR "
                              f"prepared from one of them, got data of shape {data_shape}")
    a, b = tuple(data_shape["a"]), tuple(data_shape["b"])
    if a[:2] != b[:2]:
        raise GameConfigError(f"cyclegan: the domains' images differ in size ({a} and {b}); pass --image-size")
    if config.identity_weight and a[2] != b[2]:
        raise GameConfigError(f"cyclegan: the identity loss feeds B images to G: A -> B, so both domains need "
                              f"the same channels ({a[2]} and {b[2]}); pass --channels or --identity-weight 0")
    with precision_policy(config.precision):
        nets = {
            "g_ab": resnet.build_resnet_generator(config, a, b[-1], config.res_blocks, name="g_ab"),
            "g_ba": resnet.build_resnet_generator(config, b, a[-1], config.res_blocks, name="g_ba"),
            "d_a": patchgan.build_single_patchgan(config, a, config.patch_layers, name="d_a"),
            "d_b": patchgan.build_single_patchgan(config, b, config.patch_layers, name="d_b"),
        }
    game = CycleGAN(**nets, cycle_weight=config.cycle_weight, identity_weight=config.identity_weight,
                    pool_size=config.pool_size, seed=config.seed)
    decay = config.lr_decay_epochs * config.steps_per_epoch
    game.compile({name: optimizers.from_config(config, config.g_lr if name.startswith("g") else config.d_lr, decay)
                  for name in nets}, jit_compile=config.jit_compile, steps_per_execution=config.steps_per_execution)
    return game
