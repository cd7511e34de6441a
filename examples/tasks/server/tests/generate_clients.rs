//! `tasks generate-clients`, run as a service author runs it: what it
//! reports, what it writes, and `--check` for CI.

use std::path::Path;
use std::process::{Command, Output};

fn tasks(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tasks"))
        .args(args)
        .output()
        .expect("the tasks binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("wirecall-gen-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn without_flags_it_names_the_flags_and_fails() {
    let output = tasks(&["generate-clients"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for flag in ["--python", "--typescript", "--go", "--all", "--check"] {
        assert!(stderr.contains(flag), "{flag} missing from: {stderr}");
    }
}

#[test]
fn it_reports_methods_files_and_next_steps() {
    let dir = scratch("all");
    let output = tasks(&[
        "generate-clients",
        "--all",
        "--output",
        dir.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{output:?}");
    let text = stdout(&output);
    assert!(
        text.starts_with("Found 7 RPC methods and 2 channel families\n"),
        "{text}"
    );
    assert!(
        text.contains("  task_progress: tasks:{task_id}#{owner} -> TaskEvent\n"),
        "{text}"
    );
    // The messaging layer's own families are not the service's to list.
    assert!(
        !text.contains("  task:") && !text.contains("  personal_message:"),
        "{text}"
    );
    assert!(
        text.contains("  tasks.get_stats: TaskStatsParams -> TaskStats\n"),
        "{text}"
    );
    assert!(text.contains("  users.whoami: () -> WhoAmI\n"), "{text}");
    for (label, sub) in [
        ("Python", "python"),
        ("TypeScript", "typescript"),
        ("Go", "go"),
    ] {
        let line = format!("Generated {label:<10} {}", dir.join(sub).display());
        assert!(text.contains(&line), "{line:?} missing from: {text}");
    }
    assert!(text.contains("pip install -r"), "{text}");
    assert!(text.contains("npm install"), "{text}");
    assert!(text.contains("go mod tidy"), "{text}");
    for file in [
        "python/client.py",
        "python/models.py",
        "typescript/client.ts",
        "go/client.go",
        "go/types.go",
        "openrpc.json",
        "asyncapi.json",
    ] {
        assert!(dir.join(file).is_file(), "{file} not written");
    }
    // The same names as the build script's: the outputs are identical.
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../clients/generated");
    for file in ["python/client.py", "typescript/package.json", "go/go.mod"] {
        assert_eq!(
            std::fs::read_to_string(dir.join(file)).unwrap(),
            std::fs::read_to_string(committed.join(file)).unwrap(),
            "{file}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn check_fails_naming_the_stale_files_and_writes_nothing() {
    let dir = scratch("check");
    let dir_arg = dir.to_str().unwrap();
    assert!(
        tasks(&["generate-clients", "--python", "--output", dir_arg])
            .status
            .success()
    );
    let check = tasks(&[
        "generate-clients",
        "--python",
        "--check",
        "--output",
        dir_arg,
    ]);
    assert!(check.status.success(), "{check:?}");
    assert!(stdout(&check).contains("are up to date"));

    let models = dir.join("python/models.py");
    std::fs::write(&models, "# edited by hand\n").unwrap();
    let check = tasks(&[
        "generate-clients",
        "--python",
        "--check",
        "--output",
        dir_arg,
    ]);
    assert_eq!(check.status.code(), Some(1));
    let text = stdout(&check);
    assert!(text.contains(&models.display().to_string()), "{text}");
    assert!(
        !text.contains("client.py"),
        "only the stale file is named: {text}"
    );
    assert_eq!(
        std::fs::read_to_string(&models).unwrap(),
        "# edited by hand\n"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
