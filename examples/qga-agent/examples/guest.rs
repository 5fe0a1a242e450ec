//! Boots a minimal Linux guest (Debian's kernel and busybox, under
//! `qemu-system-x86_64 -accel tcg`) running a guest agent, and waits
//! until the guest powers off or Ctrl-C:
//!
//! ```sh
//! cargo run -p qga-agent --example guest -- DIR AGENT [AGENT-OPTION...]
//! ```
//!
//! `AGENT` is any agent binary of this machine (this project's, qemu-ga,
//! your own); it runs in the guest as `/usr/sbin/qga-agent` on the port
//! `org.qemu.guest_agent.0`, whose host end is the Unix socket
//! `DIR/qga.sock`; the guest's console goes to `DIR/console.log`.  The
//! kernel and busybox are fetched into `DIR/cache` on the first run.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use qapi_test_support::guest::{Boot, ImageBuilder, Packages};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(agent)) = (args.first(), args.get(1)) else {
        eprintln!("usage: guest DIR AGENT [AGENT-OPTION...]");
        return ExitCode::from(2);
    };
    let dir = PathBuf::from(dir);
    let options: Vec<&str> = args[2..].iter().map(String::as_str).collect();
    let started = (|| {
        let packages = Packages::fetch(&dir.join("cache"))?;
        let mut image = ImageBuilder::new(&packages)?;
        image.program(agent.as_ref(), "/usr/sbin/qga-agent")?;
        let image = image.write(&dir)?;
        Boot::new(&image, "/usr/sbin/qga-agent")
            .args(&options)
            .start(&dir)
    })();
    match started {
        Ok(mut vm) => {
            println!("the agent's port: {}", vm.socket.display());
            println!("the guest's console: {}", vm.console.display());
            while !vm.wait_poweroff(Duration::from_secs(3600)) {}
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("guest: {e}");
            ExitCode::FAILURE
        }
    }
}
