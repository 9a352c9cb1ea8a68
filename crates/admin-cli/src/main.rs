//! `stowage-admin`: the operator's command line for a running Stowage
//! service. It creates organizations, creates users and resets passwords
//! through the service's HTTP API, so it needs no access to the database.
//!
//! ```text
//! STOWAGE_PLATFORM_TOKEN=... stowage-admin --url http://127.0.0.1:3000 \
//!     create-org "Acme Corp" --admin alice
//! STOWAGE_ADMIN_TOKEN=stw_... stowage-admin create-user bob --role member
//! STOWAGE_ADMIN_TOKEN=stw_... stowage-admin reset-password bob
//! ```
//!
//! Each command prints a generated password once unless `--password-stdin`
//! is given. A failed request prints the server's error message and exits
//! with status 1.

mod api;
mod commands;
mod password;

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(name = "stowage-admin", version, about)]
struct Cli {
    /// Base URL of the Stowage service.
    #[arg(long, env = "STOWAGE_URL", default_value = "http://127.0.0.1:3000")]
    url: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create an organization with its first admin (POST /orgs). Needs the
    /// service's platform token in STOWAGE_PLATFORM_TOKEN.
    CreateOrg {
        /// Name of the new organization.
        name: String,
        /// Username of the organization's first admin.
        #[arg(long = "admin", value_name = "USERNAME")]
        admin_username: String,
        /// The service's `platform_token` variable.
        #[arg(long, env = "STOWAGE_PLATFORM_TOKEN", hide_env_values = true)]
        platform_token: String,
        /// Read the admin's password from the first line of stdin instead
        /// of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Create a user in the organization of the admin token (POST /users).
    CreateUser {
        /// API token of an admin of the organization (stw_...).
        #[arg(long, env = "STOWAGE_ADMIN_TOKEN", hide_env_values = true)]
        org_admin_token: String,
        /// Username of the new user.
        username: String,
        /// Role of the new user.
        #[arg(long, value_enum, default_value_t = RoleArg::Member)]
        role: RoleArg,
        /// Read the user's password from the first line of stdin instead of
        /// generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password for a user of the admin token's organization
    /// (PATCH /users/{id}). The user's sessions end and their API tokens
    /// are deleted.
    ResetPassword {
        /// API token of an admin of the organization (stw_...).
        #[arg(long, env = "STOWAGE_ADMIN_TOKEN", hide_env_values = true)]
        org_admin_token: String,
        /// Username whose password to reset.
        username: String,
        /// Read the new password from the first line of stdin instead of
        /// generating one.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Admin,
    Member,
}

impl RoleArg {
    fn as_str(self) -> &'static str {
        match self {
            RoleArg::Admin => "admin",
            RoleArg::Member => "member",
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let api = api::Api::new(&cli.url)?;
    match cli.command {
        Command::CreateOrg {
            name,
            admin_username,
            platform_token,
            password_stdin,
        } => {
            let password = password::obtain(password_stdin)?;
            commands::create_org(&api, &platform_token, &name, &admin_username, &password)
        }
        Command::CreateUser {
            org_admin_token,
            username,
            role,
            password_stdin,
        } => {
            let password = password::obtain(password_stdin)?;
            commands::create_user(&api, &org_admin_token, &username, role.as_str(), &password)
        }
        Command::ResetPassword {
            org_admin_token,
            username,
            password_stdin,
        } => {
            let password = password::obtain(password_stdin)?;
            commands::reset_password(&api, &org_admin_token, &username, &password)
        }
    }
}
