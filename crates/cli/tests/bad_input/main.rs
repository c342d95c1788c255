//! The bad-input table: damaged and hostile files, absurd and degenerate flag values, and bad
//! inputs in the middle of real work, for every subcommand. Each must end in a clear error (exit
//! 1, or 2 for usage), never a panic, an abort, a hang or a meaningless success, and leave the
//! files it found as they were (see `table.rs` for the checks every case gets).
#[path = "../common/mod.rs"]
mod common;
mod files;
mod fixtures;
mod flags;
mod table;
mod workflows;
