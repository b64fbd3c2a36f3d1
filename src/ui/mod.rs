//! Rendering for humans and for machines. May not probe or mutate: it formats values it is
//! given. Every string that came from a device (model, serial, label) goes through
//! [`sanitize`] before it reaches a terminal, so a crafted label cannot move the cursor, clear
//! the screen or reorder text to make the confirmation lie.

pub mod confirm;
mod devices;
pub mod log;
pub mod progress;
mod sanitize;

pub use devices::{devices_json, render_devices, Contents, DeviceRow, DEVICES_JSON_VERSION};
pub use sanitize::{sanitize, sanitize_multiline};
