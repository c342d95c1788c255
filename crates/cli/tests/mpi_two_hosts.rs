//! Two "hosts" on one machine: two network namespaces joined by a veth pair, one rank in each,
//! MPI talking TCP between them (no shared memory: `MPIR_CVAR_NOLOCAL=1`, UCX restricted to
//! TCP), MPICH's launcher reaching the second namespace through an ssh stand-in. The ranks train
//! what one process trains, and the gradients cross the veth link. Needs root (network
//! namespaces); says so and passes as skipped without. Run with `cargo test --release -p convkit
//! --features mpi --test mpi_two_hosts`.
#![cfg(feature = "mpi")]
mod common;
use common::mpi::{alone, model_difference, mpiexec_command, Setup};
use common::{ok, stdout};
use std::path::Path;
use std::process::Command;

/// Two namespaces with addresses `10.231.<k>.1` and `.2`, removed when dropped.
struct TwoHosts {
    names: [String; 2],
    links: [String; 2],
    addresses: [String; 2],
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl TwoHosts {
    fn new() -> Result<TwoHosts, String> {
        let id = std::process::id() % 50_000;
        let names = [format!("ck{id}a"), format!("ck{id}b")];
        let links = [format!("ckv{id}a"), format!("ckv{id}b")];
        let subnet = id % 250 + 1;
        let addresses = [format!("10.231.{subnet}.1"), format!("10.231.{subnet}.2")];
        ip(&["netns", "add", &names[0]])?;
        let hosts = TwoHosts {
            names,
            links,
            addresses,
        };
        ip(&["netns", "add", &hosts.names[1]])?;
        let links = &hosts.links;
        ip(&[
            "link", "add", &links[0], "type", "veth", "peer", "name", &links[1],
        ])?;
        let ends = hosts.names.iter().zip(links).zip(&hosts.addresses);
        for ((ns, link), address) in ends {
            ip(&["link", "set", link, "netns", ns])?;
            let cidr = format!("{address}/24");
            ip(&["-n", ns, "addr", "add", &cidr, "dev", link])?;
            ip(&["-n", ns, "link", "set", link, "up"])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        Ok(hosts)
    }

    /// An ssh stand-in for the launcher: `launch [options] HOST COMMAND` runs COMMAND in HOST's
    /// namespace.
    fn launcher(&self, dir: &Path) -> String {
        let script = dir.join("netns-launch");
        let cases: String = (0..2)
            .map(|k| {
                format!(
                    "{}) ns={}; shift; break;; ",
                    self.addresses[k], self.names[k]
                )
            })
            .collect();
        let text = format!(
            "#!/bin/sh\nwhile [ $# -gt 0 ]; do case \"$1\" in {cases}*) shift;; esac; done\nexec ip netns exec \"$ns\" sh -c \"$*\"\n"
        );
        std::fs::write(&script, text).unwrap();
        Command::new("chmod")
            .args(["+x", script.to_str().unwrap()])
            .status()
            .unwrap();
        script.to_str().unwrap().to_string()
    }

    /// Bytes the first namespace's end of the link has sent.
    fn bytes_sent(&self) -> u64 {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.names[0], "cat"])
            .arg(format!(
                "/sys/class/net/{}/statistics/tx_bytes",
                self.links[0]
            ))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    }
}

impl Drop for TwoHosts {
    fn drop(&mut self) {
        for name in &self.names {
            let _ = ip(&["netns", "del", name]);
        }
    }
}

#[test]
fn two_ranks_in_two_network_namespaces_train_what_one_process_trains() {
    let hosts = match TwoHosts::new() {
        Ok(hosts) => hosts,
        Err(why) => {
            println!("skipped: two network namespaces could not be made (root and iproute2 needed): {why}");
            return;
        }
    };
    let setup = Setup::new();
    alone(&setup.train_args("smallcnn", "one", &[]));
    let launcher = hosts.launcher(setup.dir.path());
    let host_list = hosts.addresses.join(",");
    let launch = [
        "-launcher",
        "ssh",
        "-launcher-exec",
        &launcher,
        "-hosts",
        &host_list,
    ];
    let mut args = setup.train_args("smallcnn", "two-hosts", &["--sync-bn", "--check-replicas"]);
    args.extend(["--mpi-timeout".to_string(), "60".to_string()]);
    let command = mpiexec_command(2, &launch, &args);
    // mpiexec itself runs in the first namespace, where the second can reach it.
    let mut in_namespace = Command::new("ip");
    in_namespace
        .args(["netns", "exec", &hosts.names[0]])
        .arg(command.get_program())
        .args(command.get_args())
        .env("MPIR_CVAR_NOLOCAL", "1")
        .env("UCX_TLS", "tcp")
        .env("RAYON_NUM_THREADS", "1");
    let before = hosts.bytes_sent();
    let out = in_namespace.output().unwrap();
    ok(&out);
    assert!(
        stdout(&out).contains("replica check: all 2 ranks held bit-identical"),
        "{}",
        stdout(&out)
    );
    // Four steps of 1.15 MB of gradients, and the weights at the start, crossed the link.
    let sent = hosts.bytes_sent() - before;
    assert!(sent > 4_000_000, "only {sent} bytes over the veth link");
    let difference = model_difference(
        &setup.run_folder("two-hosts").join("last.safetensors"),
        &setup.run_folder("one").join("last.safetensors"),
        1e-5,
        1e-4,
    );
    assert!(difference.is_within_tolerance(), "{difference}");
}
