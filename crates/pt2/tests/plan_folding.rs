//! Plan-time folding of eval-mode batch norm into convolutions: every batch norm of the zoo's
//! ResNet and MobileNet (each right after a convolution) is folded, in both IRs, and the folded
//! plans still compute PyTorch's outputs (checked by `programs_conformance`, which runs these
//! archives through the same plans).

use std::path::PathBuf;

use ops::Registry;

/// The plan `run` compiles for a zoo fixture's archive.
fn zoo_plan(case: &str, archive: &str) -> ir::run::ProgramPlan {
    let ep = pt2::load(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/zoo").join(case).join(archive)).unwrap();
    ir::run::ProgramPlan::compile(&ep, Registry::global()).unwrap()
}

fn batch_norms(ep: &pt2::ExportedProgram) -> usize {
    ep.graph().nodes.iter().filter(|n| n.target.contains("batch_norm")).count()
}

#[test]
fn every_batch_norm_after_a_convolution_is_folded() {
    let zoo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/zoo");
    for case in ["zoo_resnet", "zoo_mobilenet"] {
        for archive in ["program.pt2", "program.core.pt2"] {
            let ep = pt2::load(zoo.join(case).join(archive)).unwrap();
            let plan = ir::run::ProgramPlan::compile(&ep, Registry::global()).unwrap();
            let expected = batch_norms(&ep);
            assert!(expected > 0, "{case}/{archive} has batch norms");
            assert_eq!(plan.folded_batch_norms(), expected, "{case}/{archive}");
        }
    }
}

#[test]
fn a_training_mode_batch_norm_is_not_folded() {
    // the docs' conv + batch norm in training mode: its statistics update, so it must run
    let ep = pt2::load(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/pytorch/docs_conv_bn_train/program.pt2")).unwrap();
    assert!(batch_norms(&ep) > 0);
    assert_eq!(ir::run::ProgramPlan::compile(&ep, Registry::global()).unwrap().folded_batch_norms(), 0);
}

/// Element-wise chains (`relu(a + b)` after a residual block, hard-swish's
/// `x * clamp(x + 3, 0, 6) / 6` in a core-ATen MobileNet) run as one step each; operators with
/// other sizes (a broadcast scale) or other dtypes stay as they are. `programs_conformance` runs
/// these same plans against PyTorch's outputs.
#[test]
fn element_wise_chains_are_fused() {
    for (case, archive, operators) in [
        ("zoo_resnet", "program.pt2", 4),
        ("zoo_resnet", "program.core.pt2", 4),
        ("zoo_mobilenet", "program.core.pt2", 23),
        ("zoo_vit", "program.pt2", 0),
    ] {
        assert_eq!(zoo_plan(case, archive).fused_elementwise(), operators, "{case}/{archive}");
    }
}

/// An activation right after a convolution or matrix product (directly, or through one view in a
/// core program: `addmm` → `view` → `gelu`; in place in a training program: `relu_`) runs inside
/// it; one whose input something else also reads does not. `programs_conformance` runs these
/// same plans against PyTorch's outputs.
#[test]
fn activations_after_products_are_fused_into_them() {
    // the ResNet's three conv → batch norm (folded) → relu_, not its two relu(add(..)); the
    // core MobileNet's two hardtanh(conv) and two relu(conv) of its squeeze-excite blocks (its
    // hard-swishes start with `conv + 3`); the ViT's two feed-forward GELUs
    for (case, archive, activations) in [
        ("zoo_resnet", "program.pt2", 3),
        ("zoo_resnet", "program.core.pt2", 3),
        ("zoo_mobilenet", "program.pt2", 9),
        ("zoo_mobilenet", "program.core.pt2", 4),
        ("zoo_vit", "program.pt2", 2),
        ("zoo_vit", "program.core.pt2", 2),
    ] {
        assert_eq!(zoo_plan(case, archive).fused_activations(), activations, "{case}/{archive}");
    }
}
