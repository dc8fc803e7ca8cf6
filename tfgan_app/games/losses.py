"""GAN losses as pure functions of discriminator logits (or critic scores).

Every function takes logits (pre-sigmoid scores), never probabilities, and
computes log-sigmoids with softplus:  log D = -softplus(-l),
log(1 - D) = -softplus(l), where D = sigmoid(l).  That is exact and does not
overflow where log(sigmoid(l)) does.

Logits are (B, 1), or (B, h, w, 1) for a PatchGAN (pix2pix, CycleGAN): a loss is then taken
at every patch and averaged over the patches of each example, as the pix2pix code does.

`reduce` turns per-example values into the loss.  The default is the batch mean;
under a tf.distribute strategy the GAN passes `tf.nn.compute_average_loss`,
which divides by the *global* batch so summed replica gradients are right.
"""

from __future__ import annotations

from typing import Callable

import tensorflow as tf

Reduce = Callable[[tf.Tensor], tf.Tensor]
_t = tf.convert_to_tensor


def _per_example(values) -> tf.Tensor:
    """(B, 1) -> (B,); (B, h, w, 1) patch values -> their mean per example (B,)."""
    values = tf.convert_to_tensor(values)
    if values.shape.rank == 2 and values.shape[1] == 1:
        return tf.reshape(values, [tf.shape(values)[0]])
    return tf.reduce_mean(tf.reshape(values, [tf.shape(values)[0], -1]), axis=1)


def minimax_discriminator_loss(real_logits, fake_logits, reduce: Reduce = tf.reduce_mean):
    """L_D = -E[log D(x)] - E[log(1 - D(G(z)))]   (Goodfellow et al. 2014, eq. 1).

    Equals 2 ln 2 at the optimum of the game, D = 1/2 everywhere.
    """
    return (reduce(_per_example(tf.nn.softplus(-_t(real_logits))))
            + reduce(_per_example(tf.nn.softplus(_t(fake_logits)))))


def minimax_generator_loss(fake_logits, reduce: Reduce = tf.reduce_mean):
    """L_G = E[log(1 - D(G(z)))]   (Goodfellow et al. 2014, the saturating loss).

    Its gradient vanishes when D confidently rejects the fakes.
    """
    return -reduce(_per_example(tf.nn.softplus(_t(fake_logits))))


def non_saturating_generator_loss(fake_logits, reduce: Reduce = tf.reduce_mean):
    """L_G = -E[log D(G(z))]   (Goodfellow et al. 2014, section 3, the "-log D trick")."""
    return reduce(_per_example(tf.nn.softplus(-_t(fake_logits))))


def wasserstein_discriminator_loss(real_scores, fake_scores, reduce: Reduce = tf.reduce_mean):
    """L_D = E[D(G(z))] - E[D(x)]   (Arjovsky et al. 2017, the critic's loss).

    Minus this loss estimates the Wasserstein-1 distance when D is 1-Lipschitz.
    """
    return reduce(_per_example(fake_scores)) - reduce(_per_example(real_scores))


def wasserstein_generator_loss(fake_scores, reduce: Reduce = tf.reduce_mean):
    """L_G = -E[D(G(z))]   (Arjovsky et al. 2017)."""
    return -reduce(_per_example(fake_scores))


def hinge_discriminator_loss(real_scores, fake_scores, reduce: Reduce = tf.reduce_mean):
    """L_D = E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]   (Lim & Ye 2017; Miyato et al. 2018, SN-GAN;
    Brock et al. 2019, BigGAN).

    The critic's scores are pushed past the margins +1 (real) and -1 (fake) and no further.
    """
    return (reduce(_per_example(tf.nn.relu(1.0 - _t(real_scores))))
            + reduce(_per_example(tf.nn.relu(1.0 + _t(fake_scores)))))


def hinge_generator_loss(fake_scores, reduce: Reduce = tf.reduce_mean):
    """L_G = -E[D(G(z))]   (the hinge GAN's generator loss, as SN-GAN and BigGAN train it)."""
    return -reduce(_per_example(fake_scores))


def least_squares_discriminator_loss(real_scores, fake_scores, reduce: Reduce = tf.reduce_mean):
    """L_D = 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2]   (Mao et al. 2017, LSGAN, eq. 9 with a=0, b=1)."""
    return (0.5 * reduce(_per_example(tf.square(_t(real_scores) - 1.0)))
            + 0.5 * reduce(_per_example(tf.square(_t(fake_scores)))))


def least_squares_generator_loss(fake_scores, reduce: Reduce = tf.reduce_mean):
    """L_G = 1/2 E[(D(G(z)) - 1)^2]   (Mao et al. 2017, LSGAN, eq. 9 with c=1)."""
    return 0.5 * reduce(_per_example(tf.square(_t(fake_scores) - 1.0)))


def auxiliary_classifier_loss(class_logits, labels, reduce: Reduce = tf.reduce_mean):
    """L_C = -E[log P(C = c | x)]   (Odena et al. 2017, AC-GAN): cross-entropy of the class head."""
    per_example = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.cast(labels, tf.int32), logits=tf.cast(class_logits, tf.float32))
    return reduce(per_example)


def matching_aware_discriminator_loss(real_logits, wrong_logits, fake_logits, reduce: Reduce = tf.reduce_mean):
    """L_D = -E[log D(x, t)] - (E[log(1 - D(x, t'))] + E[log(1 - D(G(z, t), t))]) / 2

    Reed et al. 2016's GAN-CLS, as StackGAN trains its discriminators (Zhang et al. 2017, and
    the authors' code): a real image with its own text is real; a real image with a mismatched
    text t' ("wrong") and a generated image with the text are fake, each with half the weight.
    """
    real = tf.nn.softplus(-_per_example(_t(real_logits)))
    wrong = tf.nn.softplus(_per_example(_t(wrong_logits)))
    fake = tf.nn.softplus(_per_example(_t(fake_logits)))
    return reduce(real + 0.5 * (wrong + fake))


def conditioning_augmentation_kl(mu, log_sigma, reduce: Reduce = tf.reduce_mean):
    """KL(N(mu, diag(sigma^2)) || N(0, I)) of StackGAN's Conditioning Augmentation, per dimension:

        mean over the c dimensions of  -log sigma + (sigma^2 + mu^2 - 1) / 2

    (Zhang et al. 2017, eq. 3's regulariser; the authors' `KL_loss` averages over the batch and
    the dimensions alike, and weights it by TRAIN.COEFF.KL = 2).  0 exactly when mu = 0, sigma = 1.
    """
    mu, log_sigma = tf.cast(mu, tf.float32), tf.cast(log_sigma, tf.float32)
    per_dim = -log_sigma + 0.5 * (tf.exp(2.0 * log_sigma) + tf.square(mu) - 1.0)
    return reduce(tf.reduce_mean(per_dim, axis=-1))


def smoothed_discriminator_loss(real_logits, fake_logits, real_target: float = 0.9,
                                reduce: Reduce = tf.reduce_mean):
    """L_D = -E[t log D(x) + (1 - t) log(1 - D(x))] - E[log(1 - D(G(z)))],  t = 0.9

    One-sided label smoothing (Salimans et al. 2016): real targets t < 1, fake ones stay 0; as
    MidiNet's code trains its discriminator (`sigmoid_cross_entropy(D_logits, 0.9 * ones)`)."""
    real = _per_example(_t(real_logits))
    fake = _per_example(_t(fake_logits))
    real_loss = real_target * tf.nn.softplus(-real) + (1.0 - real_target) * tf.nn.softplus(real)
    return reduce(real_loss) + reduce(tf.nn.softplus(fake))


def feature_matching_loss(real_mean, fake_mean):
    """1/2 ||E[f(x)] - E[f(G(z))]||^2 of batch means of features (or of samples themselves)

    (Salimans et al. 2016's feature matching, with TF's l2_loss = sum of squares / 2, as MidiNet's
    code adds 0.1 x it on the discriminator's first layer and 0.01 x it on the bars).  The means
    are over the global batch (the caller's)."""
    diff = tf.cast(real_mean, tf.float32) - tf.cast(fake_mean, tf.float32)
    return 0.5 * tf.reduce_sum(tf.square(diff))


# name -> (discriminator loss, generator loss).  "wgan-clip" is the Wasserstein loss with
# Arjovsky et al.'s weight clipping (penalties.clip_weights after every critic step);
# "wgan-gp" (config.LOSS_ALIASES) is "wasserstein" with --penalty gp.
LOSS_FAMILIES = {
    "minimax": (minimax_discriminator_loss, minimax_generator_loss),
    "non-saturating": (minimax_discriminator_loss, non_saturating_generator_loss),
    "wasserstein": (wasserstein_discriminator_loss, wasserstein_generator_loss),
    "wgan-clip": (wasserstein_discriminator_loss, wasserstein_generator_loss),
    "hinge": (hinge_discriminator_loss, hinge_generator_loss),
    "least-squares": (least_squares_discriminator_loss, least_squares_generator_loss),
}
# Families whose scores are logits of a probability (the trackers show sigmoid(D)).
PROBABILITY_LOSSES = ("minimax", "non-saturating")
