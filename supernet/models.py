"""The backbone classes of every family; none registers itself in an engine registry.

:data:`SUPERNETS` maps a space's family to its super-network class; each super-network names the
class of its subnets itself (``ResNetSuperNet.subnet_class is AllocatedResNet``). Configs name
these classes after ``engine.registry`` registered them; code uses the classes. (Their blocks
are mmdet's rebuilt in plain PyTorch, :mod:`supernet.layers`, so importing them loads neither
mmdet nor mmcv.)
"""
from .mobilenet import MnasNetSuperNet, MobileNetV2SuperNet
from .resnet import ResNetSuperNet

# A plain dict, not a registry: a family is a property of a space, never named in a config.
SUPERNETS = {
    'resnet': ResNetSuperNet,
    'mobilenet_v2': MobileNetV2SuperNet,
    'mnasnet': MnasNetSuperNet,
}
