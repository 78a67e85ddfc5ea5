"""The original GAN kind: new images from noise with fully connected nets (Goodfellow et al. 2014)."""

from __future__ import annotations

from studio.engine.models.kind import Capabilities, ModelKind, Option, Role

# What the nets are built for: the paper's 28 px MNIST up to 64 px, where a fully connected G's
# last layer (4w x C*64*64 weights) is already most of the model.
SIZES = (28, 32, 48, 64)


class GANKind(ModelKind):
    name = "gan"
    title = "GAN (2014)"
    summary = "new images from noise with the original fully connected GAN (small images, quick)"
    roles = (Role("data", "Images", "--data", "folder of training images (searched recursively)"),)
    sizes = SIZES
    capabilities = Capabilities(latent_space=True, multi_device=True)
    export_formats = ("png", "gif", "mp4", "webp", "onnx")
    default_steps = 3000
    options = (
        Option("z_dim", "Noise length", "length of the noise vector (default 100)", "--z-dim", default=100),
        Option("width", "Network width", "hidden units: G has w, 2w, 4w, D has 2w, w; smaller trains faster, "
               "larger can learn more detail (default 128)", "--width", default=128, maximum=1024),
        Option("maxout", "Discriminator units", "maxout units as in the paper (slower) or LeakyReLU", "--maxout",
               choices=((0, "LeakyReLU (quick)"), (5, "Maxout, 5 pieces (the paper)")), default=0),
    )

    @property
    def config_cls(self):
        from studio.engine.models.gan.trainer import GANConfig

        return GANConfig

    def bytes_per_image(self, size, width=128):
        # Activations only (the weights do not grow with the batch): fp32 copies of the RGB image
        # vector and its gradients (~8 per image), the hidden units and theirs (~20 w), with a 4x
        # margin for the allocator and autograd's temporaries.
        return 4 * (8 * 3 * size * size + 20 * width) * 4

    def size_cap(self, gpu):
        return 64  # fully connected: larger images only add parameters, not detail it can learn

    def default_size(self):
        return 32

    def make_trainer(self, cfg, settings, datasets, device, dist_info):
        from studio.engine.models.gan.trainer import GANTrainer

        return GANTrainer(cfg, datasets["data"].images, device=device, seed=settings.seed, dist_info=dist_info)

    def make_generator(self, cfg):
        from studio.engine.models.gan.nets import Generator

        return Generator(cfg.size, cfg.z_dim, cfg.width, cfg.channels)
