"""SBPCA and full-gradient kernels (numba), their numpy references, and their exact op counts.

``sbpca``: the state and the public kernels; ``jit``: the numba loops; ``counts``: exact operations
(what the hardware model charges); ``reference``: plain-numpy references and the SVD baseline;
``sketch``: the SRHT-sketched rank-k gradient (kernels, numpy reference, `sketch_counts`).
"""
from asicsim.kernels.counts import full_gradient_counts, sbpca_counts
from asicsim.kernels.reference import (
                                       full_gradient_ref,
                                       qr_signfix,
                                       relative_error,
                                       sbpca_expand_ref,
                                       sbpca_step_ref,
                                       sbpca_stream_ref,
                                       truncated_svd,
)
from asicsim.kernels.sbpca import (
                                       SBPCAState,
                                       full_gradient,
                                       sbpca_expand,
                                       sbpca_step,
                                       sbpca_stream,
)
from asicsim.kernels.sketch import (
                                       sketch_counts,
                                       sketch_factors,
                                       sketch_gradient,
                                       sketch_gradient_ref,
)

__all__ = ["SBPCAState", "full_gradient", "full_gradient_counts", "full_gradient_ref", "qr_signfix",
           "relative_error", "sbpca_counts", "sbpca_expand", "sbpca_expand_ref", "sbpca_step", "sbpca_step_ref",
           "sbpca_stream", "sbpca_stream_ref", "sketch_counts", "sketch_factors", "sketch_gradient",
           "sketch_gradient_ref", "truncated_svd"]
