//! Per-instance measurements: the peak linear memory of each component
//! instance, logged when the instance ends.

use wasmtime::ResourceLimiter;

/// A [`ResourceLimiter`] that allows every request to grow a memory or a
/// table within the module's own maximum and records the largest linear
/// memory the instance asked for.
///
/// Wasmtime calls `memory_growing` when it creates a memory (from 0 to the
/// initial size) and on each `memory.grow`, so the peak includes the initial
/// size of the heap and stack. With several memories in one instance the
/// peak is that of the largest one, not their sum.
#[derive(Debug, Default)]
pub struct MemoryPeak {
    peak_bytes: usize,
}

impl MemoryPeak {
    /// Returns the largest size in bytes that any linear memory of the
    /// instance grew to.
    pub fn peak_bytes(&self) -> usize {
        self.peak_bytes
    }
}

impl ResourceLimiter for MemoryPeak {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if maximum.is_some_and(|maximum| desired > maximum) {
            return Ok(false);
        }
        self.peak_bytes = self.peak_bytes.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(maximum.is_none_or(|maximum| desired <= maximum))
    }
}

/// Logs the peak linear memory of an instance of `component_id` that has
/// ended. At debug level, because the HTTP trigger creates one instance per
/// request; `RUST_LOG=stowage_host::metrics=debug` shows it.
pub fn log_instance_peak(component_id: &str, peak: &MemoryPeak) {
    tracing::debug!(
        component = component_id,
        peak_memory_bytes = peak.peak_bytes(),
        "instance ended"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_is_the_largest_desired_size() {
        let mut peak = MemoryPeak::default();
        assert!(peak.memory_growing(0, 1 << 16, None).unwrap());
        assert!(peak.memory_growing(1 << 16, 5 << 16, None).unwrap());
        assert!(peak.memory_growing(0, 2 << 16, None).unwrap());
        assert_eq!(peak.peak_bytes(), 5 << 16);
    }

    #[test]
    fn growth_beyond_maximum_is_denied() {
        let mut peak = MemoryPeak::default();
        assert!(peak.memory_growing(0, 1 << 16, Some(2 << 16)).unwrap());
        assert!(!peak.memory_growing(1 << 16, 3 << 16, Some(2 << 16)).unwrap());
        assert_eq!(peak.peak_bytes(), 1 << 16);
    }

    #[test]
    fn peak_counts_in_a_real_instance() {
        let engine = wasmtime::Engine::default();
        // The binary of `(module (memory 2) (func (export "grow") (result i32)
        // (memory.grow (i32.const 3))))`: the host is built without the WAT parser.
        let wasm: &[u8] = &[
            0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // header
            0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f, // type: [] -> [i32]
            0x03, 0x02, 0x01, 0x00, // function 0 has type 0
            0x05, 0x03, 0x01, 0x00, 0x02, // memory: min 2 pages
            0x07, 0x08, 0x01, 0x04, b'g', b'r', b'o', b'w', 0x00, 0x00, // export
            0x0a, 0x08, 0x01, 0x06, 0x00, 0x41, 0x03, 0x40, 0x00, 0x0b, // code
        ];
        let module = wasmtime::Module::new(&engine, wasm).unwrap();
        let mut store = wasmtime::Store::new(&engine, MemoryPeak::default());
        store.limiter(|peak| peak);
        let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
        let grow = instance
            .get_typed_func::<(), i32>(&mut store, "grow")
            .unwrap();

        assert_eq!(store.data().peak_bytes(), 2 * 65_536);
        assert_eq!(grow.call(&mut store, ()).unwrap(), 2);
        assert_eq!(store.data().peak_bytes(), 5 * 65_536);
    }
}
