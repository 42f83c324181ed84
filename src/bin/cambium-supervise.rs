//! `cambium-supervise DIR`: the try supervisor as its own small binary. It is spawned once
//! per try, and a small binary starts several milliseconds faster than the full `cambium`
//! (fewer pages to map and relocate), which is most of the per-task overhead of a chain.
//! The executor uses it when it sits beside `cambium`, and `cambium task supervise DIR`
//! otherwise. `cambium-supervise --standby` is started ahead of time by the executor and
//! reads the try folder as one line from stdin (it exits quietly on EOF).

use cambium_executor::supervise;

fn main() {
    let mut args = std::env::args_os().skip(1);
    match (args.next(), args.next()) {
        (Some(arg), None) if arg == supervise::STANDBY_ARG => {
            std::process::exit(supervise::run_standby())
        }
        (Some(dir), None) => std::process::exit(supervise::run(std::path::Path::new(&dir))),
        _ => {
            eprintln!(
                "usage: cambium-supervise TRY_DIR | --standby (started by Cambium's local executor)"
            );
            std::process::exit(2);
        }
    }
}
