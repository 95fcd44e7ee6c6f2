from .anomaly_split import AnomalySplitDataset
from .class_coco import ClassCOCODataset
from .fashion import FashionProductsDataset
from .karpathy_captions import KarpathyCaptionDataset
from .oxford102 import Oxford102Dataset
from .paired_dataset import PairedDataset
from .shapes_demo import ShapesDemoDataset
from .transforms import *  # noqa: F401,F403
from .transforms import __all__ as _transforms_all
from .wikipedia import WikipediaDataset

__all__ = ['AnomalySplitDataset', 'ClassCOCODataset', 'FashionProductsDataset', 'KarpathyCaptionDataset',
           'Oxford102Dataset', 'PairedDataset', 'ShapesDemoDataset', 'WikipediaDataset']
__all__ += list(_transforms_all)
