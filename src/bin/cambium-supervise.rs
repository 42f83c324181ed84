//! `cambium-supervise DIR`: the try supervisor as its own small binary. It is spawned once
//! per try, and a small binary starts several milliseconds faster than the full `cambium`
//! (fewer pages to map and relocate), which is most of the per-task overhead of a chain.
//! The executor uses it when it sits beside `cambium`, and `cambium task supervise DIR`
//! otherwise.

fn main() {
    let mut args = std::env::args_os().skip(1);
    match (args.next(), args.next()) {
        (Some(dir), None) => {
            std::process::exit(cambium_executor::supervise::run(std::path::Path::new(&dir)))
        }
        _ => {
            eprintln!("usage: cambium-supervise TRY_DIR (started by Cambium's local executor)");
            std::process::exit(2);
        }
    }
}
