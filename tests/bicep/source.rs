//! Reading Bicep: the files of a folder, and each parsed with tree-sitter-bicep. Shared by
//! the type checks (tests/bicep) and the deployment checks (tests/infra.rs).
use std::path::{Path, PathBuf};
use tree_sitter::{Parser, Tree};

/// Every `.bicep` file under `folder`, sorted.
pub fn bicep_files(folder: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![folder.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(folder).expect("a readable folder") {
            let path = entry.expect("a readable entry").path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "bicep") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The source as tree-sitter-bicep reads it: the grammar predates `extension x`, which has
/// the shape of the `import 'x'` it replaced. Lines keep their numbers.
pub fn readable(source: &str) -> String {
    source
        .lines()
        .map(|line| match line.strip_prefix("extension ") {
            Some(name) => format!("import '{}'", name.trim()),
            None => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn parse(source: &str) -> Tree {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_bicep::LANGUAGE.into())
        .expect("the Bicep grammar loads");
    parser.parse(source, None).expect("tree-sitter parses")
}
