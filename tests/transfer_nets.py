"""Small networks for the transfer tests: the HMT paper's pairs and a model with every
parameter type a transfer must carry."""
import torch
import torch.nn as nn
from torchvision.models.vgg import cfgs, make_layers


def vgg11(num_classes=10):
    """VGG-11 with BN (torchvision's layers) and a small head: the 4096-wide classifier would
    only make the test slow."""
    return nn.Sequential(make_layers(cfgs['A'], batch_norm=True), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(512, num_classes))


def conv_bn(cin, cout, k=3, stride=1):
    # HMT App. B/C: "each convolution layer is followed by a ReLU layer and a BatchNorm layer"
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.ReLU(),
                         nn.BatchNorm2d(cout))


class PlainNet5(nn.Module):
    """HMT App. C: four conv layers and a linear layer, max-pooling after the first three.
    The widths are ours (the appendix figure is unreadable in our copy)."""

    def __init__(self, widths=(32, 64, 128, 256), kernel=3, num_classes=10):
        super().__init__()
        layers, cin = [], 3
        for i, w in enumerate(widths):
            layers += [conv_bn(cin, w, kernel)] + ([nn.MaxPool2d(2)] if i < 3 else [])
            cin = w
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(cin, num_classes))

    def forward(self, x):
        return self.head(self.features(x))


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = conv_bn(cin, cout, 3, stride)
        self.conv2 = conv_bn(cout, cout, 3)
        same = cin == cout and stride == 1
        self.shortcut = nn.Identity() if same else conv_bn(cin, cout, 1, stride)

    def forward(self, x):
        return self.conv2(self.conv1(x)) + self.shortcut(x)


class ResNet8(nn.Module):
    """HMT App. B: one conv, three two-conv residual blocks, global pooling, a linear layer."""

    def __init__(self, widths=(16, 32, 64), num_classes=10):
        super().__init__()
        self.stem = conv_bn(3, widths[0])
        cin, blocks = widths[0], []
        for i, w in enumerate(widths):
            blocks.append(Block(cin, w, 1 if i == 0 else 2))
            cin = w
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        return self.fc(self.blocks(self.stem(x)).mean((2, 3)))


class TokenNet(nn.Module):
    """Embedding, a bare position parameter, LayerNorm, Linear, GroupNorm; returns a dict."""

    def __init__(self, vocab=20, dim=16, length=8, classes=5):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.pos = nn.Parameter(torch.randn(length, dim))
        self.norm = nn.LayerNorm(dim)
        self.proj = nn.Linear(dim, dim)
        self.gn = nn.GroupNorm(4, dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, tokens):                          # (B, L)
        x = self.embed(tokens) + self.pos               # (B, L, dim)
        x = self.proj(self.norm(x))
        x = self.gn(x.transpose(1, 2)).transpose(1, 2)  # GroupNorm wants (B, C, L)
        return {'logits': self.head(x.mean(1))}


class Untraceable(nn.Module):
    """Data-dependent control flow: torch.fx cannot trace it."""

    def __init__(self, width=8):
        super().__init__()
        self.a = conv_bn(3, width)
        self.b = conv_bn(width, width)

    def forward(self, x):
        x = self.a(x)
        return self.b(x) if x.sum() > 0 else x


def outputs(result):
    """Flatten a forward's tensor / tuple / list / dict into a list of tensors."""
    if isinstance(result, torch.Tensor):
        return [result]
    if isinstance(result, dict):
        result = list(result.values())
    return [t for item in result for t in outputs(item)]


def randomize(model, seed=0):
    """Distinct values everywhere (weights and BN statistics), so a misplaced tensor shows."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point():
                values = torch.randn(tensor.shape, generator=gen) * 0.2
                tensor.copy_(values.abs() + 0.5 if name.endswith('running_var') else values)
    return model


def snapshot(model):
    return {k: v.clone() for k, v in model.state_dict().items()}
