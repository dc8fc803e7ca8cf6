"""The GAN game as one keras.Model: Goodfellow et al.'s Algorithm 1 in train_step."""

from __future__ import annotations

import keras
import tensorflow as tf

from tfgan_app import losses

# Which trackers each loss family reports (names shown by fit's progress bar).
_MINIMAX_METRICS = ("d_loss", "g_loss", "d_real", "d_fake", "d_objective")
_WGAN_METRICS = ("d_loss", "g_loss", "d_real", "d_fake", "w_dist")


class GANConfigError(ValueError):
    """The networks do not fit the chosen game (e.g. BatchNorm in a WGAN-GP critic)."""


def _has_batch_norm(model: keras.Model) -> bool:
    return any(isinstance(layer, keras.layers.BatchNormalization) for layer in model._flatten_layers())


def _replica_to_global(loss):
    """A loss reduced by the global batch, rescaled to this replica's batch mean.

    The Mean trackers average over replicas, so they must see per-replica means.
    """
    ctx = tf.distribute.get_replica_context()
    replicas = ctx.num_replicas_in_sync if ctx is not None else 1
    return loss * replicas


class GAN(keras.Model):
    """Generator and discriminator playing the GAN game.

    Data batches hold `n_critic * batch_size` real examples (optionally with
    integer labels): each of the n_critic discriminator steps gets its own slice,
    then the generator takes one step on `batch_size` fresh noise vectors.

    Args:
      generator: maps z (B, latent_dim) -- and labels (B,) when conditional -- to samples.
      discriminator: maps samples (and labels for "cgan") to logits (B, 1); for
        "acgan" to [logits (B, 1), class_logits (B, num_classes)].
      latent_dim: size of z.
      loss: "minimax", "non-saturating", "wgan-gp" or "wgan-clip".
      n_critic: discriminator steps per generator step (Algorithm 1's k).
      gp_weight: lambda of the gradient penalty.
      clip_value: c of WGAN weight clipping.
      noise: "normal", "uniform" (U[-r, r]) or "stratified" (linspace(-r, r, B) + U(0, 0.01)).
      noise_range: r.
      conditioning: "none", "cgan" or "acgan".
      num_classes: label count of conditional models.
      aux_weight: weight of AC-GAN's classification loss.
      seed: seed of the noise generator the model owns.
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model, *, latent_dim: int,
                 loss: str = "non-saturating", n_critic: int = 1, gp_weight: float = 10.0,
                 clip_value: float = 0.01, noise: str = "normal", noise_range: float = 1.0,
                 conditioning: str = "none", num_classes: int = 0, aux_weight: float = 1.0,
                 seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        if loss not in losses.LOSS_FAMILIES:
            raise GANConfigError(f"loss: {loss!r} is not one of {', '.join(losses.LOSS_FAMILIES)}")
        if loss == "wgan-gp" and _has_batch_norm(discriminator):
            raise GANConfigError(
                "the WGAN-GP critic contains BatchNormalization, but the gradient penalty is "
                "per example and batch statistics mix examples; use LayerNormalization "
                "(--architecture wgan-gp-critic) or another loss")
        if conditioning != "none" and num_classes < 2:
            raise GANConfigError(f"conditioning {conditioning!r} needs num_classes >= 2, got {num_classes}")
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim)
        self.loss_name = loss
        self.n_critic = int(n_critic)
        self.gp_weight = float(gp_weight)
        self.clip_value = float(clip_value)
        self.noise = noise
        self.noise_range = float(noise_range)
        self.conditioning = conditioning
        self.num_classes = int(num_classes)
        self.aux_weight = float(aux_weight)
        self.d_loss_fn, self.g_loss_fn = losses.LOSS_FAMILIES[loss]
        self.is_wasserstein = loss.startswith("wgan")
        self.seed_generator = keras.random.SeedGenerator(seed, name="noise_seed")
        names = list(_WGAN_METRICS if self.is_wasserstein else _MINIMAX_METRICS)
        if loss == "wgan-gp":
            names.append("gp")
        if conditioning == "acgan":
            names += ["aux_loss", "aux_acc"]
        self.trackers = {n: keras.metrics.Mean(name=n) for n in names}
        self.built = True  # no call(); fit under a strategy needs this

    # -- setup -------------------------------------------------------------------
    def compile(self, g_optimizer, d_optimizer, **kwargs):
        """Two optimizers; `optimizer=None` so Keras builds no third one we do not use."""
        super().compile(optimizer=None, **kwargs)
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer

    @property
    def metrics(self):
        return list(self.trackers.values())

    @property
    def conditional(self) -> bool:
        return self.conditioning != "none"

    # -- noise -------------------------------------------------------------------
    def _next_seed(self) -> tf.Tensor:
        """A fresh stateless seed (2,); different on every replica."""
        seed = self.seed_generator.next()
        ctx = tf.distribute.get_replica_context()
        if ctx is not None and ctx.num_replicas_in_sync > 1:
            seed = tf.random.experimental.stateless_fold_in(seed, ctx.replica_id_in_sync_group)
        return seed

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

    def generate(self, z, labels=None, training=False):
        """G(z) (or G(z, labels)) as float32."""
        inputs = [z, labels] if self.conditional else z
        return tf.cast(self.generator(inputs, training=training), tf.float32)

    def discriminate(self, x, labels=None, training=False):
        """(logits (B, 1), class_logits or None) of the discriminator."""
        if self.conditioning == "cgan":
            return self.discriminator([x, labels], training=training), None
        if self.conditioning == "acgan":
            logits, class_logits = self.discriminator(x, training=training)
            return logits, class_logits
        return self.discriminator(x, training=training), None

    # -- the algorithm ---------------------------------------------------------------
    def train_step(self, data):
        """Algorithm 1 (Goodfellow et al. 2014): k discriminator steps, then one generator step."""
        real, labels = (data if isinstance(data, (tuple, list)) else (data, None))
        if not self.conditional:
            labels = None
        b = tf.shape(real)[0] // self.n_critic
        for i in range(self.n_critic):  # Python loop: unrolled (no AutoGraph in train_step)
            x = real[i * b:(i + 1) * b]
            y = None if labels is None else labels[i * b:(i + 1) * b]
            self.discriminator_step(x, y)
        self.generator_step(b)
        return {name: t.result() for name, t in self.trackers.items()}

    def discriminator_step(self, real, real_labels=None):
        """Sample z, ascend the discriminator's objective (descend L_D [+ L_GP] [+ L_aux])."""
        z_seed, a_seed, y_seed = tf.unstack(tf.random.experimental.stateless_split(self._next_seed(), 3))
        n = tf.shape(real)[0]
        z = self.sample_noise(n, z_seed)
        fake_labels = self.sample_labels(n, y_seed) if self.conditional else None
        fake = self.generate(z, fake_labels, training=True)
        reduce = tf.nn.compute_average_loss  # divides by the global batch
        with tf.GradientTape() as tape:
            real_logits, real_cls = self.discriminate(real, real_labels, training=True)
            fake_logits, fake_cls = self.discriminate(fake, fake_labels, training=True)
            real_logits = tf.cast(real_logits, tf.float32)
            fake_logits = tf.cast(fake_logits, tf.float32)
            d_loss = self.d_loss_fn(real_logits, fake_logits, reduce=reduce)
            total = d_loss
            if self.loss_name == "wgan-gp":
                alpha = tf.random.stateless_uniform([n], a_seed)  # one eps ~ U[0, 1] per example
                critic = lambda x_hat: self.discriminate(x_hat, real_labels, training=True)[0]
                gp = losses.gradient_penalty(critic, real, fake, alpha, weight=self.gp_weight, reduce=reduce)
                total += gp
            if self.conditioning == "acgan":
                aux = (losses.auxiliary_classifier_loss(real_cls, real_labels, reduce=reduce)
                       + losses.auxiliary_classifier_loss(fake_cls, fake_labels, reduce=reduce))
                total += self.aux_weight * aux
            scaled = self._scale(self.d_optimizer, total)
        grads = tape.gradient(scaled, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
        if self.loss_name == "wgan-clip":
            losses.clip_weights(self.discriminator.trainable_weights, self.clip_value)

        t, g = self.trackers, _replica_to_global
        t["d_loss"].update_state(g(d_loss))
        if self.is_wasserstein:
            t["d_real"].update_state(tf.reduce_mean(real_logits))
            t["d_fake"].update_state(tf.reduce_mean(fake_logits))
            t["w_dist"].update_state(-g(d_loss))  # E[D(x)] - E[D(G(z))]
        else:
            t["d_real"].update_state(tf.reduce_mean(tf.sigmoid(real_logits)))  # D(x)
            t["d_fake"].update_state(tf.reduce_mean(tf.sigmoid(fake_logits)))  # D(G(z))
            t["d_objective"].update_state(-g(d_loss))  # E[log D(x)] + E[log(1 - D(G(z)))]
        if self.loss_name == "wgan-gp":
            t["gp"].update_state(g(gp))
        if self.conditioning == "acgan":
            t["aux_loss"].update_state(g(aux))
            hits = tf.cast(tf.equal(tf.argmax(real_cls, -1, output_type=tf.int32),
                                    tf.cast(real_labels, tf.int32)), tf.float32)
            t["aux_acc"].update_state(tf.reduce_mean(hits))

    def generator_step(self, n):
        """Sample z, descend L_G through the (fixed) discriminator."""
        z_seed, y_seed = tf.unstack(tf.random.experimental.stateless_split(self._next_seed(), 2))
        z = self.sample_noise(n, z_seed)
        labels = self.sample_labels(n, y_seed) if self.conditional else None
        reduce = tf.nn.compute_average_loss
        with tf.GradientTape() as tape:
            fake = self.generate(z, labels, training=True)
            logits, cls = self.discriminate(fake, labels, training=True)
            g_loss = self.g_loss_fn(tf.cast(logits, tf.float32), reduce=reduce)
            total = g_loss
            if self.conditioning == "acgan":
                total += self.aux_weight * losses.auxiliary_classifier_loss(cls, labels, reduce=reduce)
            scaled = self._scale(self.g_optimizer, total)
        grads = tape.gradient(scaled, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
        self.trackers["g_loss"].update_state(_replica_to_global(g_loss))

    @staticmethod
    def _scale(optimizer, loss):
        """Loss scaling for float16 (a LossScaleOptimizer unscales in apply_gradients)."""
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            return optimizer.scale_loss(loss)
        return loss
