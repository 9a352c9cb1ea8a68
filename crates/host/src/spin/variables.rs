//! `fermyon:spin/variables@2.0.0`: component variables from spin.toml,
//! resolved from application variables at startup.

use super::bindings::fermyon::spin::variables::{Error, Host};
use crate::manifest::validate_variable_name;
use crate::state::HostState;

impl Host for HostState {
    fn get(&mut self, name: String) -> wasmtime::Result<Result<String, Error>> {
        if let Err(err) = validate_variable_name(&name) {
            return Ok(Err(Error::InvalidName(format!("{name:?}: {err}"))));
        }
        match self.component.variables.get(&name) {
            Some(value) => Ok(Ok(value.clone())),
            None => Ok(Err(Error::Undefined(format!(
                "no variable {name:?} for component {:?}",
                &*self.component.id
            )))),
        }
    }
}
