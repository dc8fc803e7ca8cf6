"""AdversarialGame: what every game shares, so a game's train_step reads like its paper.

A game is a `keras.Model` subclass of `AdversarialGame` with a `train_step`.  The base owns:

- networks (`self.networks`: name -> keras.Model) and their optimizers
  (`compile(optimizers={name: (optimizer, network name)})`), built inside the caller's
  strategy scope, both in the checkpoint under their names;
- the noise seed the model owns (`keras.random.SeedGenerator`) and each replica's rows of a
  draw for the global batch (`draw`), so R replicas compute what one device computes;
- loss scaling (mixed_float16): `scaled`, `loss_scale`, and `apply`, which skips a step on
  every replica together, and lets one optimizer skip with another;
- the global-batch reduction (`reduce`, `tf.nn.compute_average_loss`) and `track`, which
  rescales such a loss to the per-replica mean the Mean trackers average;
- weight averages of any network (`average(name, decay)` then `update_averages()`), in the
  checkpoint as NAME_ema;
- the trackers `fit`'s progress bar shows (`metrics`), and the checkpoint's contents
  (`checkpoint_items`).

What the shared code asks of a game -- training's pictures, the periodic evaluation,
`evaluate.py` and the best/ checkpoint -- goes through three methods each game answers
(`samples`, `sample_grid`, `exported_networks`), so that code never names a game's inputs
(noise, labels, an image to translate).  Export asks export/NAME.py for the signatures.
"""

from __future__ import annotations

from typing import Callable

import keras
import numpy as np
import tensorflow as tf


class GameConfigError(ValueError):
    """The networks or settings do not fit the game (e.g. BatchNorm in a WGAN-GP critic)."""


def replica_count() -> int:
    ctx = tf.distribute.get_replica_context()
    return ctx.num_replicas_in_sync if ctx is not None else 1


class AdversarialGame(keras.Model):
    """The shared machinery of adversarial games (see the module docstring).

    Args:
      networks: name -> keras.Model, e.g. {"generator": G, "discriminator": D}.
      seed: seed of the noise generator the model owns.
      trackers: names of the Mean trackers `fit` shows (more with `add_trackers`).
    """

    def __init__(self, networks: dict, *, seed: int = 0, trackers=(), **kwargs):
        super().__init__(**kwargs)
        self.networks = dict(networks)
        for name, net in self.networks.items():
            setattr(self, name, net)  # tracked by Keras under the same name
        self.seed_generator = keras.random.SeedGenerator(seed, name="noise_seed")
        self.averages: dict = {}  # network name -> its weight average (a clone)
        self._decays: dict = {}
        self.optimizers: dict = {}
        self._optimized: dict = {}  # optimizer name -> network name
        self.trackers = {}
        self.add_trackers(trackers)
        self.built = True  # no call(); fit under a strategy needs this

    # -- setup ----------------------------------------------------------------------
    def add_trackers(self, names) -> None:
        for n in names:
            self.trackers[n] = keras.metrics.Mean(name=n)

    def compile(self, optimizers: dict, **kwargs):
        """optimizers: name -> (optimizer, network name); `optimizer=None` so Keras builds no other.

        Each optimizer becomes an attribute of that name and is built on its network's
        trainable variables now, so a checkpoint restores its slots at once.
        """
        super().compile(optimizer=None, **kwargs)
        for name, (optimizer, network) in optimizers.items():
            self.optimizers[name] = optimizer
            self._optimized[name] = network
            setattr(self, name, optimizer)
            optimizer.build(self.networks[network].trainable_variables)

    @property
    def metrics(self):
        return list(self.trackers.values())

    def checkpoint_items(self) -> dict:
        """What a resumed run needs of the game: networks, optimizers, the noise state,
        weight averages, and the random state of every network's layers (NAME_random).

        Keras does not checkpoint the SeedGenerators of layers (Dropout's masks): their state
        variables are in `non_trainable_variables` but no tf.train.Checkpoint dependency, so a
        resumed run would draw other masks.  They are added here as a list per network.
        """
        items = {**self.networks, **self.optimizers, "noise_seed": self.seed_generator.state.value}
        items.update({f"{name}_ema": avg for name, avg in self.averages.items()})
        for name, net in self.networks.items():
            states = [v.value for v in net.non_trainable_variables if v.path.endswith("seed_generator_state")]
            if states:
                items[f"{name}_random"] = states
        return items

    # -- what training, evaluation and export ask of every game ------------------------
    def samples(self, n: int, seed, batch: int = 500) -> np.ndarray:
        """n samples (n, *sample_shape) float32 from the exported networks, in inference mode,
        fixed by `seed` (two ints: the same seed, the same samples), computed `batch` at a time.
        The periodic evaluation, evaluate.py and the toy plots score and draw these."""
        raise NotImplementedError(f"{type(self).__name__} does not say how to draw samples")

    def sample_grid(self, seed, examples=None) -> tuple[Callable[[], np.ndarray], int]:
        """The monitor picture of an image game: (draw, rows), where draw() returns the grid's
        images (N, H, W, C) in [-1, 1] from the current weights, always from the same inputs:
        noise from `seed`, or real data: `examples()` returns the data's first 24 examples
        (what a translation game translates)."""
        raise NotImplementedError(f"{type(self).__name__} does not say what its picture grid shows")

    def exported_networks(self) -> dict:
        """name -> the network users get (a weight average where the game keeps one): what
        WORKDIR/best/ keeps and `--weights best` restores; the game's export signatures serve
        the same networks."""
        raise NotImplementedError(f"{type(self).__name__} does not say which networks it exports")

    def initialize_from(self, other: "AdversarialGame") -> None:
        """--init-from: take the starting weights of the networks `other` (a finished run's game)
        shares with this one (SRGAN from its SRResNet).  Called before the first step only."""
        raise GameConfigError(f"--init-from: {type(self).__name__} does not start from another run's weights")

    # -- noise -----------------------------------------------------------------------
    def next_seed(self, n: int = 1):
        """n fresh stateless seeds (each (2,)), the same on every replica (the state is mirrored)."""
        seed = self.seed_generator.next()
        return seed if n == 1 else tf.unstack(tf.random.experimental.stateless_split(seed, n))

    @staticmethod
    def draw(draw, n):
        """This replica's n rows of `draw(N)`: a draw for the global batch, N = n x replicas.

        Each replica gets different noise, and R replicas together use exactly the noise
        one device draws for the same global batch: the result does not depend on the
        device count (tests/test_distribute.py checks 2 replicas against 1).  The price is
        drawing the global batch's noise on every replica -- nothing next to the networks
        here; at thousands of replicas, fold the replica id into the seed instead.
        """
        ctx = tf.distribute.get_replica_context()
        replicas = ctx.num_replicas_in_sync if ctx is not None else 1
        if replicas == 1:
            return draw(n)
        start = ctx.replica_id_in_sync_group * n
        return draw(n * replicas)[start:start + n]

    # -- reductions and trackers -----------------------------------------------------
    @staticmethod
    def reduce(per_example):
        """The loss of per-example values: their sum over the global batch / its size."""
        return tf.nn.compute_average_loss(per_example)

    def track(self, name: str, value, global_loss: bool = True) -> None:
        """Adds `value` to tracker `name`.  A loss reduced by the global batch (`global_loss`)
        is rescaled to this replica's mean first: the Mean trackers average over replicas."""
        if global_loss:
            value = value * replica_count()
        self.trackers[name].update_state(value)

    def results(self) -> dict:
        return {name: t.result() for name, t in self.trackers.items()}

    # -- weight averages -------------------------------------------------------------
    def average(self, name: str, decay: float) -> keras.Model:
        """Keeps an exponential moving average of network `name` (a clone, starting at its weights)."""
        if not 0.0 < decay < 1.0:
            raise GameConfigError(f"average of {name}: decay {decay}; expected a number in (0, 1)")
        net = self.networks[name]
        avg = keras.models.clone_model(net)
        avg.set_weights(net.get_weights())
        self.averages[name] = avg
        self._decays[name] = float(decay)
        setattr(self, f"{name}_ema", avg)
        return avg

    def update_averages(self, *names) -> None:
        """avg <- beta * avg + (1 - beta) * theta over every variable of the named networks
        (all averaged networks when none are named), BatchNorm statistics included.

        Replicas hold equal weights, so the update runs once, in cross-replica context (a
        MirroredVariable cannot be assigned in replica context without an aggregation);
        per-replica BatchNorm statistics (no --sync-batchnorm) differ, and the first
        replica's are the ones averaged.
        """
        pairs = []
        for name in names or tuple(self.averages):
            if name in self.averages:
                beta = self._decays[name]
                pairs += [(avg, theta, beta) for avg, theta in
                          zip(self.averages[name].weights, self.networks[name].weights)]
        if not pairs:
            return

        def update(*_):
            for avg, theta, beta in pairs:
                avg.assign(beta * avg.value + (1.0 - beta) * theta.value)

        ctx = tf.distribute.get_replica_context()
        if tf.distribute.has_strategy() and ctx is not None:
            ctx.merge_call(update)
        else:
            update()

    # -- loss scaling (mixed_float16) ------------------------------------------------
    @property
    def loss_scaled(self) -> bool:
        return any(isinstance(o, keras.optimizers.LossScaleOptimizer) for o in self.optimizers.values())

    @staticmethod
    def scaled(optimizer, loss):
        """Loss scaling for float16 (a LossScaleOptimizer unscales in apply_gradients)."""
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            return optimizer.scale_loss(loss)
        return loss

    @staticmethod
    def loss_scale(optimizer):
        """The current loss scale of a LossScaleOptimizer, else None."""
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            return optimizer.dynamic_scale
        return None

    @staticmethod
    def all_finite(grads) -> tf.Tensor:
        """True when every gradient is finite on every replica (one scalar all-reduce)."""
        finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in grads if g is not None])
        ctx = tf.distribute.get_replica_context()
        if ctx is not None and ctx.num_replicas_in_sync > 1:
            bad = ctx.all_reduce(tf.distribute.ReduceOp.SUM, 1.0 - tf.cast(finite, tf.float32))
            finite = tf.equal(bad, 0.0)
        return finite

    def apply(self, optimizer, grads, variables, ok=None, checked=False):
        """optimizer.apply_gradients; under loss scaling, returns whether the step was applied.

        A LossScaleOptimizer skips a step (and halves its scale) when a gradient is
        non-finite, but it looks only at this replica's gradients.  So the verdict is taken
        here over all replicas -- `ok` and all `grads` finite (or just `ok` when `checked`)
        -- and a skipped step gets NaN gradients on every replica: all replicas then skip
        together, and `ok=False` makes an optimizer skip with another (a generator with its
        critic).  Without loss scaling: applies, returns None.
        """
        if not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            optimizer.apply_gradients(zip(grads, variables))
            return None
        if checked:
            verdict = ok
        else:
            verdict = self.all_finite(grads)
            if ok is not None:
                verdict = tf.logical_and(verdict, ok)
        poison = tf.where(verdict, 0.0, float("nan"))  # 0 keeps the gradients, NaN makes the optimizer skip
        optimizer.apply_gradients([(g + tf.cast(poison, g.dtype), v) for g, v in zip(grads, variables)])
        return verdict

    def descend(self, optimizer_name: str, tape, scaled_loss, ok=None):
        """One step of optimizer `optimizer_name` on its network's trainable weights: the
        tape's gradient of `scaled_loss` (`scaled(optimizer, loss)`, taken inside the tape),
        applied.  Returns `apply`'s verdict.  Call after the tape has closed."""
        optimizer = self.optimizers[optimizer_name]
        variables = self.networks[self._optimized[optimizer_name]].trainable_weights
        return self.apply(optimizer, tape.gradient(scaled_loss, variables), variables, ok)
