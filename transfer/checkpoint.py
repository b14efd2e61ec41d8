"""Building networks from ``timm:<name>`` or an mmengine config, and checkpoint files.

Used by ``tools/transfer.py``; checkpoints are read with ``torch.load(weights_only=True)`` (no
arbitrary unpickling) or safetensors, and written atomically (temporary file, then rename).
"""
from __future__ import annotations

import importlib
import os
import tempfile
from pathlib import Path

import torch
import torch.nn as nn


def build_model(spec: str, **timm_kwargs) -> nn.Module:
    """``'timm:<name>'`` → ``timm.create_model(name, pretrained=False, **timm_kwargs)``;
    a path to an mmengine config → its ``model`` dict built through the registries (with
    ``import supernet``, so ``AllocatedResNet`` and the other backbones resolve)."""
    if spec.startswith('timm:'):
        import timm
        name = spec[len('timm:'):]
        if not timm.is_model(name):
            raise ValueError(f'{spec!r}: timm has no model {name!r}')
        return timm.create_model(name, pretrained=False, **timm_kwargs)
    path = Path(spec)
    if not path.is_file():
        raise FileNotFoundError(f'{spec!r} is neither timm:<name> nor an existing config file')
    from mmengine.config import Config
    from mmengine.registry import MODELS, init_default_scope
    import supernet  # noqa: F401  registers the Allocated* backbones and super-networks
    cfg = Config.fromfile(str(path))
    if 'model' not in cfg:
        raise KeyError(f'{spec}: the config has no `model` dict')
    scope = cfg.get('default_scope')
    if scope:
        importlib.import_module(f'{scope}.utils').register_all_modules(init_default_scope=False)
        init_default_scope(scope)
    return MODELS.build(cfg.model)


def read_state_dict(path) -> dict:
    """A state dict from ``.safetensors`` or a torch file (mmengine's ``{'state_dict': ...}``
    and DDP's ``module.`` prefix are unwrapped)."""
    path = str(path)
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        return load_file(path)
    checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'{path}: no state dict inside')
    if state and all(k.startswith('module.') for k in state):
        state = {k[len('module.'):]: v for k, v in state.items()}
    return state


def load_weights(model: nn.Module, path) -> nn.Module:
    missing, unexpected = model.load_state_dict(read_state_dict(path), strict=False)
    if missing or unexpected:
        raise KeyError(f'{path} does not fit {type(model).__name__}: missing {missing[:5]}'
                       f'{"..." if len(missing) > 5 else ""}, unexpected {unexpected[:5]}'
                       f'{"..." if len(unexpected) > 5 else ""}')
    return model


def save_checkpoint(path, model: nn.Module, meta: dict) -> Path:
    """Write ``{'state_dict', 'meta'}`` (mmengine's layout) or a ``.safetensors`` file with
    ``meta`` as string metadata; atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix='.tmp')
    os.close(fd)
    try:
        if path.suffix == '.safetensors':
            from safetensors.torch import save_file
            save_file(state, tmp, metadata={k: str(v) for k, v in meta.items()})
        else:
            torch.save({'state_dict': state, 'meta': meta}, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path
