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
    then the generator takes g_steps steps, each on `batch_size` fresh noise vectors.

    Args:
      generator: maps z (B, latent_dim) -- and labels (B,) when conditional -- to samples.
      discriminator: maps samples (and labels for "cgan") to logits (B, 1); for
        "acgan" to [logits (B, 1), class_logits (B, num_classes)].
      latent_dim: size of z.
      loss: "minimax", "non-saturating", "wgan-gp" or "wgan-clip".
      n_critic: discriminator steps per train step (Algorithm 1's k).
      g_steps: generator steps after the n_critic discriminator steps (Algorithm 1: 1;
        PacGAN's Stacked MNIST code: 2).
      gp_weight: lambda of the gradient penalty.
      clip_value: c of WGAN weight clipping.
      noise: "normal", "uniform" (U[-r, r]) or "stratified" (linspace(-r, r, B) + U(0, 0.01)).
      noise_range: r.
      conditioning: "none", "cgan" or "acgan".
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
        E||grad_x D(x)||^2 on the real batch, added to every discriminator step's loss
        (0: none).  With BatchNorm in D it is the gradient of the batch's summed logits.

    Under a tf.distribute strategy every loss is reduced by the global batch, and
    each replica draws its own rows of the global batch's noise (`_draw`), so R
    replicas compute what one device computes for the same global batch.  With
    LossScaleOptimizers (float16) a step whose gradients are non-finite anywhere is
    skipped on every replica, and the generator skips with the critic (`_apply`).
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model, *, latent_dim: int,
                 loss: str = "non-saturating", n_critic: int = 1, gp_weight: float = 10.0,
                 clip_value: float = 0.01, noise: str = "normal", noise_range: float = 1.0,
                 conditioning: str = "none", num_classes: int = 0, aux_weight: float = 1.0,
                 seed: int = 0, update: str = "alternating", pack: int = 1, g_steps: int = 1,
                 ema_decay: float = 0.0, r1_weight: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        if loss not in losses.LOSS_FAMILIES:
            raise GANConfigError(f"loss: {loss!r} is not one of {', '.join(losses.LOSS_FAMILIES)}")
        if loss == "wgan-gp" and _has_batch_norm(discriminator):
            raise GANConfigError(
                "the WGAN-GP critic contains BatchNormalization, but the gradient penalty is "
                "per example and batch statistics mix examples; use LayerNormalization "
                "(--d-norm layer) or another loss")
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
        if not 0.0 <= ema_decay < 1.0:
            raise GANConfigError(f"ema_decay: {ema_decay}; expected 0 (no average) or a decay in (0, 1)")
        if conditioning != "none" and num_classes < 2:
            raise GANConfigError(f"conditioning {conditioning!r} needs num_classes >= 2, got {num_classes}")
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim)
        self.loss_name = loss
        self.n_critic = int(n_critic)
        self.g_steps = int(g_steps)
        self.gp_weight = float(gp_weight)
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
        self.generator_ema = None
        if self.ema_decay:  # a copy of the generator, starting at its weights
            self.generator_ema = keras.models.clone_model(generator)
            self.generator_ema.set_weights(generator.get_weights())
        self.d_loss_fn, self.g_loss_fn = losses.LOSS_FAMILIES[loss]
        self.is_wasserstein = loss.startswith("wgan")
        self.seed_generator = keras.random.SeedGenerator(seed, name="noise_seed")
        names = list(_WGAN_METRICS if self.is_wasserstein else _MINIMAX_METRICS)
        if loss == "wgan-gp":
            names.append("gp")
        if r1_weight:
            names.append("r1")
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
        """A fresh stateless seed (2,), the same on every replica (the generator's state is mirrored)."""
        return self.seed_generator.next()

    @staticmethod
    def _draw(draw, n):
        """This replica's n rows of `draw(N)`: a draw for the global batch, N = n x replicas.

        Each replica gets different noise, and R replicas together use exactly the
        noise one device draws for the same global batch: the result does not depend
        on the device count (tests/test_distribute.py checks 2 replicas against 1).
        The price is drawing the global batch's noise on every replica -- nothing next
        to the networks here; at thousands of replicas, fold the replica id into the
        seed instead.
        """
        ctx = tf.distribute.get_replica_context()
        replicas = ctx.num_replicas_in_sync if ctx is not None else 1
        if replicas == 1:
            return draw(n)
        start = ctx.replica_id_in_sync_group * n
        return draw(n * replicas)[start:start + n]

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
        if self.conditioning == "cgan":
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
            return {name: t.result() for name, t in self.trackers.items()}
        b = tf.shape(real)[0] // self.n_critic
        critic_ok = None  # under loss scaling: did every critic step of this step apply?
        for i in range(self.n_critic):  # Python loop: unrolled (no AutoGraph in train_step)
            x = real[i * b:(i + 1) * b]  # under R replicas see distribute.arrange_for_replicas
            y = None if labels is None else labels[i * b:(i + 1) * b]
            applied = self.discriminator_step(x, y)
            critic_ok = applied if critic_ok is None else tf.logical_and(critic_ok, applied)
        for _ in range(self.g_steps):
            self.generator_step(b, critic_ok)
            self.average_step()
        return {name: t.result() for name, t in self.trackers.items()}

    def discriminator_step(self, real, real_labels=None):
        """Sample z, ascend the discriminator's objective (descend L_D [+ L_GP] [+ L_aux]).

        Returns whether the update was applied (a bool tensor) under loss scaling, else None.
        """
        z_seed, a_seed, y_seed = tf.unstack(tf.random.experimental.stateless_split(self._next_seed(), 3))
        z, fake_labels = self._draw_fake_inputs(tf.shape(real)[0], z_seed, y_seed)
        fake = self._fake(z, fake_labels)
        with tf.GradientTape() as tape:
            total, parts = self._discriminator_loss(real, real_labels, fake, fake_labels, a_seed)
            scaled = self._scale(self.d_optimizer, total)
        grads = tape.gradient(scaled, self.discriminator.trainable_weights)
        applied = self._apply(self.d_optimizer, grads, self.discriminator.trainable_weights)
        if self.loss_name == "wgan-clip":
            losses.clip_weights(self.discriminator.trainable_weights, self.clip_value)
        self._track_discriminator(parts)
        return applied

    def generator_step(self, n, critic_ok=None):
        """Sample z, descend L_G through the (fixed) discriminator.

        `critic_ok` (loss scaling only): False when a critic step of this train step was
        skipped; the generator then skips too.
        """
        z_seed, y_seed = tf.unstack(tf.random.experimental.stateless_split(self._next_seed(), 2))
        z, labels = self._draw_fake_inputs(n, z_seed, y_seed)
        with tf.GradientTape() as tape:
            fake = self._fake(z, labels)
            logits, cls = self.discriminate(fake, labels, training=True)
            g_loss, total = self._generator_loss(logits, cls, labels)
            scaled = self._scale(self.g_optimizer, total)
        grads = tape.gradient(scaled, self.generator.trainable_weights)
        self._apply(self.g_optimizer, grads, self.generator.trainable_weights, critic_ok)
        self.trackers["g_loss"].update_state(_replica_to_global(g_loss))

    def simultaneous_step(self, real, real_labels=None):
        """The TF DCGAN tutorial's step: one forward pass of G and D, both gradients, both applied.

        Both nets descend their losses at the same point (G through the critic before its
        update): one pass of G and of D on the fakes fewer than Algorithm 1.
        """
        z_seed, a_seed, y_seed = tf.unstack(tf.random.experimental.stateless_split(self._next_seed(), 3))
        z, fake_labels = self._draw_fake_inputs(tf.shape(real)[0], z_seed, y_seed)
        g_vars, d_vars = self.generator.trainable_weights, self.discriminator.trainable_weights
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self._fake(z, fake_labels)
            d_total, parts = self._discriminator_loss(real, real_labels, fake, fake_labels, a_seed)
            g_loss, g_total = self._generator_loss(parts["fake_logits"], parts["fake_cls"], fake_labels)
            d_scaled = self._scale(self.d_optimizer, d_total)
            g_scaled = self._scale(self.g_optimizer, g_total)
        g_grads = g_tape.gradient(g_scaled, g_vars)
        d_grads = d_tape.gradient(d_scaled, d_vars)
        both_ok = self._all_finite(g_grads + d_grads) if self._loss_scaled else None
        self._apply(self.g_optimizer, g_grads, g_vars, both_ok, checked=True)
        self._apply(self.d_optimizer, d_grads, d_vars, both_ok, checked=True)
        if self.loss_name == "wgan-clip":
            losses.clip_weights(d_vars, self.clip_value)
        self._track_discriminator(parts)
        self.trackers["g_loss"].update_state(_replica_to_global(g_loss))
        self.average_step()

    def average_step(self):
        """theta_avg <- beta * theta_avg + (1 - beta) * theta over all generator variables (no-op if beta = 0).

        Replicas hold equal weights, so the update runs once, in cross-replica context
        (a MirroredVariable cannot be assigned in replica context without an aggregation);
        per-replica BatchNorm statistics (no --sync-batchnorm) differ, and the first
        replica's are the ones averaged.
        """
        if self.generator_ema is None:
            return
        beta = self.ema_decay
        pairs = list(zip(self.generator_ema.weights, self.generator.weights))

        def update(*_):
            for avg, theta in pairs:
                avg.assign(beta * avg.value + (1.0 - beta) * theta.value)

        ctx = tf.distribute.get_replica_context()
        if tf.distribute.has_strategy() and ctx is not None:
            ctx.merge_call(update)
        else:
            update()

    # -- pieces of the steps ---------------------------------------------------------
    def _draw_fake_inputs(self, n, z_seed, y_seed):
        """(z (n, latent_dim), labels (n,) or None): this replica's rows of the global draw."""
        z = self._draw(lambda m: self.sample_noise(m, z_seed), n)
        labels = self._draw(lambda m: self.sample_labels(m, y_seed), n) if self.conditional else None
        return z, labels

    def _discriminator_loss(self, real, real_labels, fake, fake_labels, alpha_seed):
        """(L_D [+ L_R1] [+ L_GP] [+ L_aux], the parts the trackers show); call inside the critic's tape."""
        reduce = tf.nn.compute_average_loss  # divides by the global batch
        if self.r1_weight:  # D(x) from the penalty's own forward pass: D runs on x once
            class_logits = []

            def critic(x):
                logits, cls = self.discriminate(x, real_labels, training=True)
                class_logits.append(cls)  # AC-GAN's class logits of that same pass (else None)
                return logits

            r1, real_logits = losses.r1_penalty(critic, real, weight=self.r1_weight, reduce=reduce,
                                                scale=self._loss_scale(self.d_optimizer))
            real_cls = class_logits[0]
        else:
            real_logits, real_cls = self.discriminate(real, real_labels, training=True)
        fake_logits, fake_cls = self.discriminate(fake, fake_labels, training=True)
        real_logits = tf.cast(real_logits, tf.float32)
        fake_logits = tf.cast(fake_logits, tf.float32)
        d_loss = self.d_loss_fn(real_logits, fake_logits, reduce=reduce)
        parts = dict(d_loss=d_loss, real_logits=real_logits, fake_logits=fake_logits,
                     real_cls=real_cls, fake_cls=fake_cls, real_labels=real_labels)
        total = d_loss
        if self.r1_weight:
            parts["r1"] = r1
            total += r1
        if self.loss_name == "wgan-gp":
            # The penalty is on what the critic sees: packed inputs, one eps ~ U[0, 1] each.
            real_p, fake_p = pack_samples(real, self.pack), pack_samples(fake, self.pack)
            alpha = self._draw(lambda m: tf.random.stateless_uniform([m], alpha_seed), tf.shape(real_p)[0])
            critic = lambda x_hat: self.discriminate(x_hat, real_labels, training=True, packed=True)[0]
            parts["gp"] = losses.gradient_penalty(critic, real_p, fake_p, alpha, weight=self.gp_weight,
                                                  reduce=reduce, scale=self._loss_scale(self.d_optimizer))
            total += parts["gp"]
        if self.conditioning == "acgan":
            parts["aux"] = (losses.auxiliary_classifier_loss(real_cls, real_labels, reduce=reduce)
                            + losses.auxiliary_classifier_loss(fake_cls, fake_labels, reduce=reduce))
            total += self.aux_weight * parts["aux"]
        return total, parts

    def _generator_loss(self, fake_logits, fake_cls, labels):
        """(L_G, L_G [+ L_aux]) from the critic's outputs on G's samples."""
        reduce = tf.nn.compute_average_loss
        g_loss = self.g_loss_fn(tf.cast(fake_logits, tf.float32), reduce=reduce)
        total = g_loss
        if self.conditioning == "acgan":
            total += self.aux_weight * losses.auxiliary_classifier_loss(fake_cls, labels, reduce=reduce)
        return g_loss, total

    def _track_discriminator(self, parts):
        t, g = self.trackers, _replica_to_global
        d_loss, real_logits, fake_logits = parts["d_loss"], parts["real_logits"], parts["fake_logits"]
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
            t["gp"].update_state(g(parts["gp"]))
        if self.r1_weight:
            t["r1"].update_state(g(parts["r1"]))
        if self.conditioning == "acgan":
            t["aux_loss"].update_state(g(parts["aux"]))
            hits = tf.cast(tf.equal(tf.argmax(parts["real_cls"], -1, output_type=tf.int32),
                                    tf.cast(parts["real_labels"], tf.int32)), tf.float32)
            t["aux_acc"].update_state(tf.reduce_mean(hits))

    # -- loss scaling (mixed_float16) ------------------------------------------------
    @property
    def _loss_scaled(self) -> bool:
        return any(isinstance(o, keras.optimizers.LossScaleOptimizer) for o in (self.g_optimizer, self.d_optimizer))

    @staticmethod
    def _scale(optimizer, loss):
        """Loss scaling for float16 (a LossScaleOptimizer unscales in apply_gradients)."""
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            return optimizer.scale_loss(loss)
        return loss

    @staticmethod
    def _loss_scale(optimizer):
        """The current loss scale of a LossScaleOptimizer, else None."""
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            return optimizer.dynamic_scale
        return None

    @staticmethod
    def _all_finite(grads) -> tf.Tensor:
        """True when every gradient is finite on every replica (one scalar all-reduce)."""
        finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in grads if g is not None])
        ctx = tf.distribute.get_replica_context()
        if ctx is not None and ctx.num_replicas_in_sync > 1:
            bad = ctx.all_reduce(tf.distribute.ReduceOp.SUM, 1.0 - tf.cast(finite, tf.float32))
            finite = tf.equal(bad, 0.0)
        return finite

    def _apply(self, optimizer, grads, variables, ok=None, checked=False):
        """optimizer.apply_gradients; under loss scaling, returns whether the step was applied.

        A LossScaleOptimizer skips a step (and halves its scale) when a gradient is
        non-finite, but it looks only at this replica's gradients.  So the verdict is
        taken here over all replicas -- `ok` and all `grads` finite (or just `ok` when
        `checked`) -- and a skipped step gets NaN gradients on every replica: all
        replicas then skip together, and `ok=False` makes an optimizer skip with another
        (the generator with its critic).  Without loss scaling: applies, returns None.
        """
        if not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            optimizer.apply_gradients(zip(grads, variables))
            return None
        if checked:
            verdict = ok
        else:
            verdict = self._all_finite(grads)
            if ok is not None:
                verdict = tf.logical_and(verdict, ok)
        poison = tf.where(verdict, 0.0, float("nan"))  # 0 keeps the gradients, NaN makes the optimizer skip
        optimizer.apply_gradients([(g + tf.cast(poison, g.dtype), v) for g, v in zip(grads, variables)])
        return verdict
