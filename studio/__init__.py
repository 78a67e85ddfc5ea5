"""GAN Studio: train and explore DCGANs and CycleGANs on your own images."""

__version__ = "0.1.0"
