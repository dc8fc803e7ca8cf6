"""tfgan_app: train GANs with Keras and ship their generators."""
