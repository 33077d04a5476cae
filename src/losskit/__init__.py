"""losskit: loss functions with exact gradients and Hessians.

Every loss is a :class:`LossFunction` with ``compute``, ``derivative``,
``hessian`` and ``value_and_derivative``; it works on NumPy arrays and on the
arrays of any library that follows the Python array API standard.

>>> import losskit
>>> mse = losskit.MeanSquaredError()
>>> round(float(mse.compute([1, 2, 3, 4], [1.1, 1.9, 3.2, 3.8])), 4)
0.025
"""

from . import numerics
from ._base import CompositeLoss, ElementwiseLoss, LossFunction, RowwiseLoss
from ._classification import (
    BinaryCrossEntropy,
    CategoricalCrossEntropy,
    HingeLoss,
    MulticlassHingeLoss,
    SparseCategoricalCrossEntropy,
    SquaredHingeLoss,
)
from ._compat import set_validation, validation, validation_mode
from ._distribution import KLDivergence
from ._gradcheck import GradientCheck, check_gradients
from ._imbalanced import CategoricalFocalLoss, FocalLoss, WeightedCrossEntropy
from ._registry import REGISTRY, LossInfo, get, info, names
from ._regression import (
    HuberLoss,
    LogCoshLoss,
    MeanAbsoluteError,
    MeanSquaredError,
    PoissonLoss,
    QuantileLoss,
    SmoothL1Loss,
)
from ._segmentation import DiceLoss, JaccardLoss, MedicalImagingLoss, TverskyLoss
from ._similarity import ContrastiveLoss, TripletLoss

__version__ = "0.1.0"

__all__ = [
    "REGISTRY",
    "BinaryCrossEntropy",
    "CategoricalCrossEntropy",
    "CategoricalFocalLoss",
    "CompositeLoss",
    "ContrastiveLoss",
    "DiceLoss",
    "ElementwiseLoss",
    "FocalLoss",
    "GradientCheck",
    "HingeLoss",
    "HuberLoss",
    "JaccardLoss",
    "KLDivergence",
    "LogCoshLoss",
    "LossFunction",
    "LossInfo",
    "MeanAbsoluteError",
    "MeanSquaredError",
    "MedicalImagingLoss",
    "MulticlassHingeLoss",
    "PoissonLoss",
    "QuantileLoss",
    "RowwiseLoss",
    "SmoothL1Loss",
    "SparseCategoricalCrossEntropy",
    "SquaredHingeLoss",
    "TripletLoss",
    "TverskyLoss",
    "WeightedCrossEntropy",
    "__version__",
    "check_gradients",
    "get",
    "info",
    "names",
    "numerics",
    "set_validation",
    "validation",
    "validation_mode",
]
