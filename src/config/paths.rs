//! Where the configuration and the store live: the user's config and data
//! directories (from `directories`), unless `--config FILE` / `--data-dir DIR` say otherwise.

use std::path::{Path, PathBuf};

use super::ConfigError;

/// The resolved locations for one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// The configuration file (`config.toml`).
    pub config_file: PathBuf,
    /// The data directory holding the store and its lock.
    pub data_dir: PathBuf,
}

impl Paths {
    /// `--config` / `--data-dir` when given, else the platform defaults
    /// (`~/.config/ml-connector/config.toml`, `~/.local/share/ml-connector` on Linux).
    pub fn resolve(config: Option<&Path>, data_dir: Option<&Path>) -> Result<Paths, ConfigError> {
        let dirs = directories::ProjectDirs::from("", "", "ml-connector");
        let config_file = match config {
            Some(path) => path.to_path_buf(),
            None => dirs
                .as_ref()
                .map(|d| d.config_dir().join("config.toml"))
                .ok_or(ConfigError::NoHomeDirectory {
                    what: "configuration",
                    flag: "--config FILE",
                })?,
        };
        let data_dir = match data_dir {
            Some(path) => path.to_path_buf(),
            None => dirs.as_ref().map(|d| d.data_dir().to_path_buf()).ok_or(
                ConfigError::NoHomeDirectory {
                    what: "data",
                    flag: "--data-dir DIR",
                },
            )?,
        };
        Ok(Paths {
            config_file,
            data_dir,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_win() {
        let paths = Paths::resolve(Some(Path::new("/x/c.toml")), Some(Path::new("/y"))).unwrap();
        assert_eq!(paths.config_file, PathBuf::from("/x/c.toml"));
        assert_eq!(paths.data_dir, PathBuf::from("/y"));
    }

    #[test]
    fn defaults_name_the_app() {
        if let Ok(paths) = Paths::resolve(None, None) {
            assert!(paths.config_file.ends_with("config.toml"));
            assert!(paths.data_dir.to_string_lossy().contains("ml-connector"));
        }
    }
}
