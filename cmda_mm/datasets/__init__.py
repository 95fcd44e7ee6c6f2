from .paired_dataset import PairedDataset
from .shapes_demo import ShapesDemoDataset
from .transforms import *  # noqa: F401,F403
from .transforms import __all__ as _transforms_all
from .wikipedia import WikipediaDataset

__all__ = ['PairedDataset', 'ShapesDemoDataset', 'WikipediaDataset'
           ] + list(_transforms_all)
