from .cross_modal_contrastive import (CrossModalContrastiveLoss, cross_modal_contrastive_loss,
                                      supervised_cross_modal_contrastive_loss)

__all__ = [
    'CrossModalContrastiveLoss', 'cross_modal_contrastive_loss',
    'supervised_cross_modal_contrastive_loss'
]
