//! ATen operators for neural networks: matrix products, convolution, pooling, normalization,
//! and the rest (upsampling, attention, losses, ...).

pub mod conv;
pub mod matmul;
pub mod misc;
pub mod norm;
pub mod pool;

use crate::DtypeRule;
use crate::meta;
use crate::registry::Tag::*;
use crate::Registry;

pub fn register(r: &Registry) {
    let core = &[Core][..];
    let none = &[][..];
    r.def_meta("aten::mm(Tensor self, Tensor mat2) -> Tensor", core, meta::matmul, matmul::mm).complex();
    r.def_meta("aten::bmm(Tensor self, Tensor mat2) -> Tensor", core, meta::matmul, matmul::bmm).complex();
    r.def_meta("aten::addmm(Tensor self, Tensor mat1, Tensor mat2, *, Scalar beta=1, Scalar alpha=1) -> Tensor", core, meta::matmul, matmul::addmm).with_activation(matmul::addmm_activated).complex();
    r.def_meta("aten::baddbmm(Tensor self, Tensor batch1, Tensor batch2, *, Scalar beta=1, Scalar alpha=1) -> Tensor", none, meta::matmul, matmul::baddbmm).complex();
    r.def("aten::addbmm(Tensor self, Tensor batch1, Tensor batch2, *, Scalar beta=1, Scalar alpha=1) -> Tensor", none, matmul::addbmm).complex();
    r.def_meta("aten::addmv(Tensor self, Tensor mat, Tensor vec, *, Scalar beta=1, Scalar alpha=1) -> Tensor", none, meta::matrix_vector, matmul::addmv).complex();
    r.def_meta("aten::addr(Tensor self, Tensor vec1, Tensor vec2, *, Scalar beta=1, Scalar alpha=1) -> Tensor", none, meta::outer_product, matmul::addr).complex();
    r.def_meta("aten::mv(Tensor self, Tensor vec) -> Tensor", none, meta::matrix_vector, matmul::mv).complex();
    r.def_meta("aten::dot(Tensor self, Tensor tensor) -> Tensor", none, meta::scalar_result, matmul::dot).complex();
    r.def_meta("aten::vdot(Tensor self, Tensor other) -> Tensor", none, meta::scalar_result, matmul::vdot).complex();
    r.def_meta("aten::matmul(Tensor self, Tensor other) -> Tensor", none, meta::matmul, matmul::matmul).complex();
    r.def_meta("aten::linear(Tensor input, Tensor weight, Tensor? bias=None) -> Tensor", none, meta::matmul, matmul::linear).with_activation(matmul::linear_activated).complex();

    r.def_meta("aten::convolution(Tensor input, Tensor weight, Tensor? bias, SymInt[] stride, SymInt[] padding, SymInt[] dilation, bool transposed, SymInt[] output_padding, SymInt groups) -> Tensor", core, meta::conv, conv::convolution).with_activation(conv::convolution_activated).complex();
    r.def_meta("aten::conv2d(Tensor input, Tensor weight, Tensor? bias=None, SymInt[2] stride=[1, 1], SymInt[2] padding=[0, 0], SymInt[2] dilation=[1, 1], SymInt groups=1) -> Tensor", none, meta::conv, conv::conv2d).with_activation(conv::conv2d_activated).complex();
    r.def("aten::im2col(Tensor self, int[2] kernel_size, int[2] dilation, int[2] padding, int[2] stride) -> Tensor", none, conv::im2col).any_dtype();
    r.def("aten::col2im(Tensor self, SymInt[2] output_size, int[2] kernel_size, int[2] dilation, int[2] padding, int[2] stride) -> Tensor", core, conv::col2im);

    r.def_meta("aten::max_pool2d_with_indices(Tensor self, int[2] kernel_size, int[2] stride=[], int[2] padding=0, int[2] dilation=1, bool ceil_mode=False) -> (Tensor, Tensor)", core, meta::pool, pool::max_pool2d_with_indices).dtype(DtypeRule::ValuesAndIndices);
    r.def_meta("aten::max_pool3d_with_indices(Tensor self, int[3] kernel_size, int[3] stride=[], int[3] padding=0, int[3] dilation=1, bool ceil_mode=False) -> (Tensor, Tensor)", core, meta::pool, pool::max_pool3d_with_indices).dtype(DtypeRule::ValuesAndIndices);
    r.def_meta("aten::max_pool2d(Tensor self, int[2] kernel_size, int[2] stride=[], int[2] padding=0, int[2] dilation=1, bool ceil_mode=False) -> Tensor", none, meta::pool, pool::max_pool2d);
    r.def_meta("aten::avg_pool2d(Tensor self, int[2] kernel_size, int[2] stride=[], int[2] padding=0, bool ceil_mode=False, bool count_include_pad=True, int? divisor_override=None) -> Tensor", core, meta::pool, pool::avg_pool2d);
    r.def_meta("aten::avg_pool3d(Tensor self, int[3] kernel_size, int[3] stride=[], int[3] padding=0, bool ceil_mode=False, bool count_include_pad=True, int? divisor_override=None) -> Tensor", core, meta::pool, pool::avg_pool3d);
    r.def_meta("aten::_adaptive_avg_pool2d(Tensor self, SymInt[2] output_size) -> Tensor", core, meta::adaptive_pool, pool::adaptive_avg_pool2d);
    r.def_meta("aten::_adaptive_avg_pool3d(Tensor self, SymInt[3] output_size) -> Tensor", core, meta::adaptive_pool, pool::adaptive_avg_pool3d);
    r.def_meta("aten::adaptive_max_pool2d(Tensor self, int[2] output_size) -> (Tensor, Tensor)", none, meta::adaptive_pool, pool::adaptive_max_pool2d).dtype(DtypeRule::ValuesAndIndices);
    r.def_meta("aten::adaptive_max_pool3d(Tensor self, int[3] output_size) -> (Tensor, Tensor)", none, meta::adaptive_pool, pool::adaptive_max_pool3d).dtype(DtypeRule::ValuesAndIndices);

    r.def_meta("aten::native_batch_norm(Tensor input, Tensor? weight, Tensor? bias, Tensor? running_mean, Tensor? running_var, bool training, float momentum, float eps) -> (Tensor, Tensor, Tensor)", none, meta::batch_norm_stats, norm::native_batch_norm);
    r.def_meta("aten::_native_batch_norm_legit(Tensor input, Tensor? weight, Tensor? bias, Tensor(a!) running_mean, Tensor(b!) running_var, bool training, float momentum, float eps) -> (Tensor, Tensor, Tensor)", core, meta::batch_norm_stats, norm::batch_norm_legit);
    r.def_meta("aten::_native_batch_norm_legit.no_stats(Tensor input, Tensor? weight, Tensor? bias, bool training, float momentum, float eps) -> (Tensor, Tensor, Tensor)", core, meta::batch_norm_stats, norm::batch_norm_legit);
    r.def_meta("aten::_native_batch_norm_legit_no_training(Tensor input, Tensor? weight, Tensor? bias, Tensor running_mean, Tensor running_var, float momentum, float eps) -> (Tensor, Tensor, Tensor)", core, meta::batch_norm_stats, norm::batch_norm_legit_no_training).with_activation(norm::batch_norm_legit_no_training_activated);
    r.def_meta("aten::_native_batch_norm_legit_functional(Tensor input, Tensor? weight, Tensor? bias, Tensor running_mean, Tensor running_var, bool training, float momentum, float eps) -> (Tensor, Tensor, Tensor, Tensor running_mean_out, Tensor running_var_out)", none, meta::batch_norm_stats, norm::batch_norm_legit_functional);
    r.def_meta("aten::_batch_norm_with_update(Tensor input, Tensor? weight, Tensor? bias, Tensor(a!) running_mean, Tensor(b!) running_var, float momentum, float eps) -> (Tensor, Tensor, Tensor, Tensor)", none, meta::batch_norm_with_update, norm::batch_norm_with_update)
        .dtype(DtypeRule::Custom(crate::dtype::batch_norm_with_update));
    r.def_meta("aten::_batch_norm_with_update_functional(Tensor input, Tensor? weight, Tensor? bias, Tensor running_mean, Tensor running_var, float momentum, float eps) -> (Tensor, Tensor, Tensor, Tensor, Tensor running_mean_out, Tensor running_var_out)", none, meta::batch_norm_with_update, norm::batch_norm_with_update)
        .dtype(DtypeRule::Custom(crate::dtype::batch_norm_with_update));
    r.def_meta("aten::batch_norm(Tensor input, Tensor? weight, Tensor? bias, Tensor? running_mean, Tensor? running_var, bool training, float momentum, float eps, bool cudnn_enabled) -> Tensor", none, meta::same_as_self, norm::batch_norm).with_activation(norm::batch_norm_activated);
    r.def_meta("aten::native_layer_norm(Tensor input, SymInt[] normalized_shape, Tensor? weight, Tensor? bias, float eps) -> (Tensor, Tensor, Tensor)", core, meta::native_layer_norm, norm::native_layer_norm);
    r.def_meta("aten::layer_norm(Tensor input, SymInt[] normalized_shape, Tensor? weight=None, Tensor? bias=None, float eps=1.0000000000000001e-05, bool cudnn_enable=True) -> Tensor", none, meta::same_as_self, norm::layer_norm);
    r.def_meta("aten::native_group_norm(Tensor input, Tensor? weight, Tensor? bias, SymInt N, SymInt C, SymInt HxW, int group, float eps) -> (Tensor, Tensor, Tensor)", core, meta::native_group_norm, norm::native_group_norm);
    r.def_meta("aten::native_dropout(Tensor input, float p, bool? train) -> (Tensor, Tensor)", &[Core, Nondeterministic], meta::same_as_self, norm::native_dropout);
    misc::register(r);
    misc::register_more(r);
    misc::register_pooling_and_histograms(r);
}
