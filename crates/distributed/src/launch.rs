//! Whether this process was started by an MPI launcher (`mpiexec`, `mpirun`, `srun` with PMI),
//! read from the variables the launchers set, without an MPI library: a binary built without MPI
//! support uses it to refuse such a start instead of training the same run once per rank.

/// This process's place in the job an MPI launcher started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Launch {
    pub rank: usize,
    pub size: usize,
    /// The variable that gave the size (`PMI_SIZE` for MPICH's Hydra, `OMPI_COMM_WORLD_SIZE` for
    /// Open MPI, ...).
    pub variable: &'static str,
}

/// `(size, rank)` variable pairs of the common launchers: PMI (MPICH's Hydra, Intel MPI, Slurm's
/// PMI-2), Open MPI, MVAPICH, and Hydra's per-host count as a last resort.
const LAUNCHER_VARIABLES: [(&str, &str); 4] = [
    ("PMI_SIZE", "PMI_RANK"),
    ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"),
    ("MV2_COMM_WORLD_SIZE", "MV2_COMM_WORLD_RANK"),
    ("MPI_LOCALNRANKS", "MPI_LOCALRANKID"),
];

/// The launch described by the environment: the first launcher variable that holds a number.
pub fn detect() -> Option<Launch> {
    detect_in(|name| std::env::var(name).ok())
}

/// [`detect`] over any source of variables (for tests).
pub fn detect_in(var: impl Fn(&str) -> Option<String>) -> Option<Launch> {
    let number = |name: &str| var(name).and_then(|v| v.trim().parse::<usize>().ok());
    LAUNCHER_VARIABLES.iter().find_map(|&(size, rank)| {
        Some(Launch {
            size: number(size)?,
            rank: number(rank).unwrap_or(0),
            variable: size,
        })
    })
}

/// The message of a binary without MPI support started as one of several ranks.
pub fn built_without_mpi(launch: &Launch) -> String {
    format!(
        "this process is rank {} of {} started by an MPI launcher ({}={}), but this convkit was built \
         without MPI support, so every rank would train the same run alone; build it with \
         `cargo build --release -p convkit --features mpi` (Debian: apt-get install mpich \
         libmpich-dev libclang-dev), or start it without mpiexec",
        launch.rank, launch.size, launch.variable, launch.size
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn launchers_are_recognised_by_their_variables() {
        assert_eq!(detect_in(env(&[])), None);
        assert_eq!(
            detect_in(env(&[("PMI_SIZE", "4"), ("PMI_RANK", "2")])),
            Some(Launch {
                rank: 2,
                size: 4,
                variable: "PMI_SIZE"
            })
        );
        let ompi = detect_in(env(&[
            ("OMPI_COMM_WORLD_SIZE", "2"),
            ("OMPI_COMM_WORLD_RANK", "1"),
        ]));
        assert_eq!(ompi.map(|l| (l.rank, l.size)), Some((1, 2)));
        let hydra_local = detect_in(env(&[("MPI_LOCALNRANKS", "3"), ("MPI_LOCALRANKID", "0")]));
        assert_eq!(hydra_local.map(|l| l.size), Some(3));
        assert_eq!(detect_in(env(&[("PMI_SIZE", "many")])), None);
    }

    #[test]
    fn the_refusal_says_how_to_build_with_mpi() {
        let message = built_without_mpi(&Launch {
            rank: 1,
            size: 2,
            variable: "PMI_SIZE",
        });
        assert!(message.contains("rank 1 of 2"), "{message}");
        assert!(message.contains("--features mpi"), "{message}");
        assert!(message.contains("libmpich-dev"), "{message}");
    }
}
