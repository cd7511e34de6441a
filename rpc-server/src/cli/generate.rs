//! `generate-clients`: the exporter from the command line. It reports what
//! it found, writes (or with `--check` compares) the clients, and says what
//! to do next in each language.

use std::path::Path;
use std::process::ExitCode;

use wirecall_core::export::{
    ApiModel, ChannelAddress, ClientOptions, Target, TypeRef, client_files, exported_model,
    stale_files, write_files,
};

use super::GenerateArgs;
use crate::ServerBuilder;

/// Runs the command; the exit code is 2 for usage errors, 1 for failures
/// and stale clients.
pub(super) fn run(args: &GenerateArgs, server: ServerBuilder) -> ExitCode {
    let targets = targets(args);
    if targets.is_empty() {
        eprintln!(
            "generate-clients: say what to generate: --python, --typescript, --go, --rust, --openrpc, --asyncapi or --all\n\
             (with --output DIR, default ./clients; --check compares instead of writing; --verbose lists every file)"
        );
        return ExitCode::from(2);
    }
    match generate(args, &targets, server) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn targets(args: &GenerateArgs) -> Vec<Target> {
    if args.all {
        return Target::ALL.to_vec();
    }
    let chosen = [
        (args.python, Target::Python),
        (args.typescript, Target::TypeScript),
        (args.go, Target::Go),
        (args.rust, Target::Rust),
        (args.openrpc, Target::OpenRpc),
        (args.asyncapi, Target::AsyncApi),
    ];
    chosen
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, target)| target)
        .collect()
}

fn generate(
    args: &GenerateArgs,
    targets: &[Target],
    server: ServerBuilder,
) -> Result<ExitCode, String> {
    let router = server.resolved_router().map_err(|e| e.to_string())?;
    let defaults = server.export_options();
    let options = ClientOptions {
        name: args.name.clone().unwrap_or(defaults.name),
        version: args.api_version.clone().unwrap_or(defaults.version),
        go_module: args.go_module.clone().or(defaults.go_module),
        ..defaults
    };
    let model = exported_model(&router).map_err(|e| e.to_string())?;
    let files = client_files(&router, &model, targets, &options).map_err(|e| e.to_string())?;
    print_found(&model);
    let dir = &args.output;
    if args.check {
        let stale = stale_files(dir, &files);
        if stale.is_empty() {
            println!(
                "\nAll {} generated files in {} are up to date.",
                files.len(),
                dir.display()
            );
            return Ok(ExitCode::SUCCESS);
        }
        println!(
            "\n{} of {} generated files differ from what would be generated:",
            stale.len(),
            files.len()
        );
        for path in &stale {
            println!("  {}", path.display());
        }
        println!("Regenerate them with the same command without --check.");
        return Ok(ExitCode::FAILURE);
    }
    let written = write_files(dir, &files)
        .map_err(|e| format!("writing the clients to {}: {e}", dir.display()))?;
    println!();
    for target in targets {
        println!(
            "Generated {:<10} {}",
            label(*target),
            dir.join(target.path()).display()
        );
    }
    if args.verbose {
        for file in &files {
            let path = dir.join(&file.path);
            let state = if written.contains(&path) {
                "written"
            } else {
                "unchanged"
            };
            println!("  {state:<9} {}", path.display());
        }
    }
    println!(
        "\n{} files, {} written, {} unchanged.",
        files.len(),
        written.len(),
        files.len() - written.len()
    );
    print_next_steps(dir, targets);
    Ok(ExitCode::SUCCESS)
}

fn label(target: Target) -> &'static str {
    match target {
        Target::Python => "Python",
        Target::TypeScript => "TypeScript",
        Target::Go => "Go",
        Target::Rust => "Rust",
        Target::OpenRpc => "OpenRPC",
        Target::AsyncApi => "AsyncAPI",
    }
}

fn print_found(model: &ApiModel) {
    let count = model.methods.len();
    let declared: Vec<_> = model
        .channels
        .iter()
        .filter(|family| family.address == ChannelAddress::Pattern)
        .collect();
    let families = declared.len();
    println!(
        "Found {count} RPC method{} and {families} channel famil{}",
        if count == 1 { "" } else { "s" },
        if families == 1 { "y" } else { "ies" }
    );
    for method in &model.methods {
        let params = method
            .params
            .as_ref()
            .map_or_else(|| "()".to_owned(), type_name);
        println!(
            "  {}: {params} -> {}",
            method.name,
            type_name(&method.result)
        );
    }
    for family in declared {
        println!(
            "  {}: {} -> {}",
            family.name,
            family.pattern,
            type_name(&family.payload)
        );
    }
}

/// A short, Rust-like spelling of a type for the listing.
fn type_name(ty: &TypeRef) -> String {
    match ty {
        TypeRef::String => "String".into(),
        TypeRef::Bool => "bool".into(),
        TypeRef::Integer { bits, signed } => format!("{}{bits}", if *signed { 'i' } else { 'u' }),
        TypeRef::Float { bits } => format!("f{bits}"),
        TypeRef::DateTime => "DateTime".into(),
        TypeRef::Uuid => "Uuid".into(),
        TypeRef::Any => "Value".into(),
        TypeRef::Unit => "()".into(),
        TypeRef::Optional(inner) => format!("Option<{}>", type_name(inner)),
        TypeRef::Array(inner) => format!("Vec<{}>", type_name(inner)),
        TypeRef::Map(inner) => format!("Map<String, {}>", type_name(inner)),
        TypeRef::Tuple(items) => {
            format!(
                "({})",
                items.iter().map(type_name).collect::<Vec<_>>().join(", ")
            )
        }
        TypeRef::Named(name) => name.clone(),
    }
}

fn print_next_steps(dir: &Path, targets: &[Target]) {
    println!("\nNext steps:");
    for target in targets {
        let path = dir.join(target.path());
        let path = path.display();
        match target {
            Target::Python => println!(
                "  Python:     copy {path} into your project as a package, then pip install -r <package>/requirements.txt"
            ),
            Target::TypeScript => {
                println!("  TypeScript: cd {path} && npm install && npm run build");
            }
            Target::Go => {
                println!("  Go:         cd {path} && go mod tidy (then require its module path)")
            }
            Target::Rust => println!(
                "  Rust:       add {path}/api.rs to your crate as a module (#[rustfmt::skip] mod api;); its README lists the dependencies"
            ),
            Target::OpenRpc => println!("  OpenRPC:    {path} describes every method and type"),
            Target::AsyncApi => {
                println!("  AsyncAPI:   {path} describes every channel family and its messages");
            }
        }
    }
    println!("Each package's README.md lists its methods.");
}
