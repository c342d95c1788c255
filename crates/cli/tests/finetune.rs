//! `convkit finetune`: a checkpoint trained on some classes fine-tuned on others, the frozen
//! layers byte-identical, the plan printed; bad input named.
mod common;
use common::{convkit, image_folder, ok, only_run, stderr, stdout, tensor_bits, train_on_folder};

#[test]
fn a_checkpoint_is_fine_tuned_on_other_classes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    image_folder(&data, 8, 60);
    let pretrain = dir.path().join("pretrain");
    let out = train_on_folder(
        &data,
        &pretrain,
        &[
            "--model",
            "smallcnn",
            "--classes",
            "0,1",
            "--batch-size",
            "4",
        ],
    );
    ok(&out);
    let checkpoint = only_run(&pretrain).join("last.safetensors");
    let runs = dir.path().join("runs");
    let finetune = |extra: &[&str]| {
        let mut args = vec![
            "finetune",
            "--from",
            checkpoint.to_str().unwrap(),
            "--model",
            "smallcnn",
            "--dataset",
            "folder",
            "--data-dir",
            data.to_str().unwrap(),
            "--classes",
            "1-2",
            "--batch-size",
            "4",
            "--out-dir",
            runs.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        convkit(&args)
    };
    let out = finetune(&[
        "--epochs",
        "2",
        "--freeze-until",
        "stage2",
        "--lr-mult",
        "10",
    ]);
    ok(&out);
    let text = stdout(&out);
    for line in [
        "fine-tuning smallcnn from ",
        "the classifier 'fc' re-initialised for 2 classes",
        "epoch 1: head 'fc' only",
        "epoch 2: all layers, except the 6 frozen parameters before freeze_until",
        "lr_mult 10 over 3 stages",
        "the body's 6 batch norms stay in inference mode",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    let before = tensor_bits(&checkpoint);
    let after = tensor_bits(&only_run(&runs).join("last.safetensors"));
    for (name, bits) in &after {
        let (_, old) = before.iter().find(|(n, _)| n == name).unwrap();
        let frozen = name.starts_with("stage1")
            || name.contains("running_")
            || name.ends_with("num_batches_tracked");
        assert_eq!(frozen, bits == old, "{name}");
    }

    let err = stderr(&finetune(&["--freeze-until", "stage7"]));
    assert!(err.contains("--freeze-until (finetune.freeze_until): the model has no layer 'stage7' with parameters; layers with parameters: stage1, stage1.0"), "{err}");
    let out = convkit(&[
        "finetune",
        "--from",
        "/nowhere/resnet.pth",
        "--model",
        "resnet18",
    ]);
    assert!(
        stderr(&out).contains("/nowhere/resnet.pth"),
        "{}",
        stderr(&out)
    );
    let out = convkit(&["finetune", "--model", "resnet18"]);
    assert!(stderr(&out).contains("--from"), "{}", stderr(&out));
}
