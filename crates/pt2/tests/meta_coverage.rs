//! Every registered overload has a meta function (output sizes without running it: what
//! dynamic-shape tracing and shapes-only export need) or is listed here with the reason it has
//! none. A new operator without one fails this test until it gets one or is listed; a listed
//! operator that gets one must leave the list. (The rules themselves are checked against
//! PyTorch by the operator conformance and `tests/shapes_replay.rs`.)

const VALUES: &str = "its output's sizes, or the value it returns, depend on tensor values";
const METADATA: &str = "returns a size, not a tensor; its kernel reads only metadata and runs on meta tensors";
const BACKWARD: &str = "a gradient operator, which exported inference programs do not contain";
const NOT_YET: &str = "not written yet";

const WITHOUT_META: &[(&str, &str)] = &[
    ("aten::_local_scalar_dense.default", VALUES),
    ("aten::_unique2.default", VALUES),
    ("aten::allclose.default", VALUES),
    ("aten::bincount.default", VALUES),
    ("aten::equal.default", VALUES),
    ("aten::item.default", VALUES),
    ("aten::repeat_interleave.Tensor", VALUES),
    ("aten::segment_reduce.default", VALUES),
    ("aten::tensor_split.tensor_indices_or_sections", VALUES),
    ("aten::unique_consecutive.default", VALUES),
    ("aten::sym_numel.default", METADATA),
    ("aten::sym_size.int", METADATA),
    ("aten::sym_storage_offset.default", METADATA),
    ("aten::sym_stride.int", METADATA),
    ("aten::_softmax_backward_data.default", BACKWARD),
    ("aten::embedding_dense_backward.default", BACKWARD),
    ("aten::max_pool2d_with_indices_backward.default", BACKWARD),
    ("aten::_chunk_cat.default", NOT_YET),
    ("aten::_histogramdd_bin_edges.default", NOT_YET),
    ("aten::_histogramdd_from_bin_cts.default", NOT_YET),
    ("aten::_histogramdd_from_bin_tensors.default", NOT_YET),
    ("aten::_linalg_solve_ex.default", NOT_YET),
    ("aten::_scaled_dot_product_flash_attention_for_cpu.default", NOT_YET),
    ("aten::_trilinear.default", NOT_YET),
    ("aten::_unsafe_masked_index.default", NOT_YET),
    ("aten::_unsafe_masked_index_put_accumulate.default", NOT_YET),
    ("aten::addbmm.default", NOT_YET),
    ("aten::block_diag.default", NOT_YET),
    ("aten::cholesky_inverse.default", NOT_YET),
    ("aten::cholesky_solve.default", NOT_YET),
    ("aten::col2im.default", NOT_YET),
    ("aten::floor_divide.default", NOT_YET),
    ("aten::fractional_max_pool2d.default", NOT_YET),
    ("aten::fractional_max_pool3d.default", NOT_YET),
    ("aten::frexp.Tensor", NOT_YET),
    ("aten::geqrf.default", NOT_YET),
    ("aten::histogram.bin_ct", NOT_YET),
    ("aten::histogram.bins_tensor", NOT_YET),
    ("aten::im2col.default", NOT_YET),
    ("aten::index_reduce.default", NOT_YET),
    ("aten::ldexp.Tensor", NOT_YET),
    ("aten::linalg_cross.default", NOT_YET),
    ("aten::linalg_householder_product.default", NOT_YET),
    ("aten::linalg_lstsq.default", NOT_YET),
    ("aten::linalg_lu.default", NOT_YET),
    ("aten::linalg_lu_solve.default", NOT_YET),
    ("aten::linalg_matrix_exp.default", NOT_YET),
    ("aten::linalg_matrix_sqrth.default", NOT_YET),
    ("aten::linalg_polar.default", NOT_YET),
    ("aten::linalg_qr.default", NOT_YET),
    ("aten::linalg_solve_triangular.default", NOT_YET),
    ("aten::log_sigmoid_forward.default", NOT_YET),
    ("aten::lu_solve.default", NOT_YET),
    ("aten::lu_unpack.default", NOT_YET),
    ("aten::multilabel_margin_loss_forward.default", NOT_YET),
    ("aten::nonzero_static.default", NOT_YET),
    ("aten::ormqr.default", NOT_YET),
    ("aten::split_with_sizes_copy.default", NOT_YET),
    ("aten::triangular_solve.default", NOT_YET),
    ("aten::unbind_copy.int", NOT_YET),
    ("aten::unsafe_split.Tensor", NOT_YET),
];

#[test]
fn every_overload_has_a_meta_function_or_a_reason() {
    let registry = pt2::Registry::global();
    let missing: Vec<String> = registry.names().into_iter().filter(|n| registry.get(n).is_some_and(|d| d.meta.is_none())).collect();
    let unlisted: Vec<&String> = missing.iter().filter(|n| !WITHOUT_META.iter().any(|(m, _)| m == n)).collect();
    assert!(unlisted.is_empty(), "overloads without a meta function: give them one (ops::meta) or list them with the reason: {unlisted:?}");
    let stale: Vec<&str> = WITHOUT_META.iter().map(|(n, _)| *n).filter(|n| !missing.iter().any(|m| m == n)).collect();
    assert!(stale.is_empty(), "these have a meta function now (or are gone): take them off the list: {stale:?}");
    let not_yet = WITHOUT_META.iter().filter(|(_, why)| *why == NOT_YET).count();
    assert!(not_yet <= 54, "{not_yet} overloads wait for a meta function");
    assert!(registry.names().len() >= 557, "the registry shrank");
}
