//! A stand-alone try supervisor (`cambium-task-supervise <try_dir>`), the same as
//! `cambium task supervise <try_dir>`; used by the executor's tests.

fn main() {
    let Some(try_dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: cambium-task-supervise <try_dir>");
        std::process::exit(2);
    };
    std::process::exit(cambium_executor::supervise::run(std::path::Path::new(
        &try_dir,
    )));
}
