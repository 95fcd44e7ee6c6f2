from .anomaly_split import AnomalySplitDataset
from .class_coco import ClassCOCODataset  # noqa: F401
from .fashion import FashionProductsDataset
from .karpathy_captions import KarpathyCaptionDataset
from .oxford102 import Oxford102Dataset  # noqa: F401
from .paired_dataset import PairedDataset
from .shapes_demo import ShapesDemoDataset
from .transforms import *  # noqa: F401,F403
from .transforms import __all__ as _transforms_all
from .wikipedia import WikipediaDataset

__all__ = ['AnomalySplitDataset', 'FashionProductsDataset', 'KarpathyCaptionDataset', 'PairedDataset', 'ShapesDemoDataset', 'WikipediaDataset'
           ] + list(_transforms_all)
