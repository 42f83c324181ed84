//! A stand-alone try supervisor (`cambium-task-supervise <try_dir>`, or
//! `cambium-task-supervise --standby` to read the try folder from stdin), the same as
//! `cambium task supervise <try_dir>`; used by the executor's tests.

use cambium_executor::supervise;

fn main() {
    let Some(arg) = std::env::args_os().nth(1) else {
        eprintln!("usage: cambium-task-supervise <try_dir> | --standby");
        std::process::exit(2);
    };
    let code = if arg == supervise::STANDBY_ARG {
        supervise::run_standby()
    } else {
        supervise::run(std::path::Path::new(&arg))
    };
    std::process::exit(code);
}
