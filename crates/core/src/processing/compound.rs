//! Detection of legacy Office documents (doc, xls, ppt) in OLE2 compound
//! files larger than the sniffing head.
//!
//! A compound file's type is the CLSID of its root directory entry, and
//! the directory can lie anywhere in the file. `infer` parses the whole
//! buffer it is given, so on a cut head it only matches the OLE2
//! signature and returns `application/x-ole-storage` (the type of MSI installers
//! too). This module reads the directory's position from the header
//! (MS-CFB section 2.2) and catches the 16 CLSID bytes as the stream
//! passes them, without keeping more of the file.

/// The first eight bytes of every compound file.
const SIGNATURE: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// The header fields read here end at byte 0x34.
const HEADER_LEN: usize = 0x34;

/// The offset of the CLSID within a directory entry.
const CLSID_OFFSET: u64 = 0x50;

/// The CLSIDs of the root entry that name a legacy Office format, as
/// stored on disk (the first three GUID fields little-endian), with the
/// type `infer` gives the same documents when it reads all their bytes.
const OFFICE_CLSIDS: [([u8; 16], &str); 4] = [
    (
        // 00020906-0000-0000-C000-000000000046, Word 97-2003.
        guid(0x0002_0906, 0, 0, [0xC0, 0, 0, 0, 0, 0, 0, 0x46]),
        "application/msword",
    ),
    (
        // 00020810-0000-0000-C000-000000000046, Excel 5 and 95.
        guid(0x0002_0810, 0, 0, [0xC0, 0, 0, 0, 0, 0, 0, 0x46]),
        "application/vnd.ms-excel",
    ),
    (
        // 00020820-0000-0000-C000-000000000046, Excel 97-2003.
        guid(0x0002_0820, 0, 0, [0xC0, 0, 0, 0, 0, 0, 0, 0x46]),
        "application/vnd.ms-excel",
    ),
    (
        // 64818D10-4F9B-11CF-86EA-00AA00B929E8, PowerPoint 97-2003.
        guid(
            0x6481_8D10,
            0x4F9B,
            0x11CF,
            [0x86, 0xEA, 0x00, 0xAA, 0x00, 0xB9, 0x29, 0xE8],
        ),
        "application/vnd.ms-powerpoint",
    ),
];

/// Catches the root entry's CLSID of a compound file while it streams.
#[derive(Debug, Default)]
pub struct CompoundProbe {
    /// The file offset of the CLSID, once the header was read and names a
    /// valid position.
    clsid_at: Option<u64>,
    clsid: Vec<u8>,
}

impl CompoundProbe {
    /// Reads the header from `head`, the first bytes of the file. Does
    /// nothing unless they are a compound file header of version 3 or 4.
    pub fn read_header(&mut self, head: &[u8]) {
        if self.clsid_at.is_some() || head.len() < HEADER_LEN || head[..8] != SIGNATURE {
            return;
        }

        let major_version = u16::from_le_bytes([head[0x1A], head[0x1B]]);
        let sector_shift = u16::from_le_bytes([head[0x1E], head[0x1F]]);
        let directory_sector = u32::from_le_bytes([head[0x30], head[0x31], head[0x32], head[0x33]]);
        let valid = matches!((major_version, sector_shift), (3, 9) | (4, 12));
        if !valid {
            return;
        }

        // Sector n starts at (n + 1) << shift, because the header fills
        // sector -1. The root entry is the directory's first entry.
        let directory_at = (u64::from(directory_sector) + 1) << sector_shift;
        self.clsid_at = Some(directory_at + CLSID_OFFSET);
    }

    /// Takes the CLSID bytes out of `bytes`, which start at file offset
    /// `offset`.
    pub fn update(&mut self, offset: u64, bytes: &[u8]) {
        let Some(clsid_at) = self.clsid_at else {
            return;
        };
        let wanted_from = clsid_at + self.clsid.len() as u64;
        let wanted_to = clsid_at + 16;
        let end = offset + bytes.len() as u64;
        if self.clsid.len() == 16 || wanted_from < offset || wanted_from >= end {
            return;
        }

        let start = (wanted_from - offset) as usize;
        let stop = (wanted_to.min(end) - offset) as usize;
        self.clsid.extend_from_slice(&bytes[start..stop]);
    }

    /// Returns the Office type named by the CLSID, if it was seen and is
    /// one of the known ones.
    pub fn office_type(&self) -> Option<&'static str> {
        OFFICE_CLSIDS
            .iter()
            .find(|(clsid, _)| self.clsid == clsid[..])
            .map(|(_, mime_type)| *mime_type)
    }
}

/// Encodes a GUID the way Windows stores it in a file.
const fn guid(data1: u32, data2: u16, data3: u16, data4: [u8; 8]) -> [u8; 16] {
    let a = data1.to_le_bytes();
    let b = data2.to_le_bytes();
    let c = data3.to_le_bytes();
    [
        a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], data4[0], data4[1], data4[2], data4[3],
        data4[4], data4[5], data4[6], data4[7],
    ]
}

/// Builds compound-file-shaped bytes for tests: a version 3 header whose
/// directory starts at sector `directory_sector`, with `clsid` in the root
/// entry, padded with zeros to `len` bytes.
#[cfg(test)]
pub fn test_compound_file(directory_sector: u32, clsid: [u8; 16], len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    bytes[..8].copy_from_slice(&SIGNATURE);
    bytes[0x1A..0x1C].copy_from_slice(&3u16.to_le_bytes());
    bytes[0x1C..0x1E].copy_from_slice(&[0xFE, 0xFF]);
    bytes[0x1E..0x20].copy_from_slice(&9u16.to_le_bytes());
    bytes[0x30..0x34].copy_from_slice(&directory_sector.to_le_bytes());

    let clsid_at = (directory_sector as usize + 1) * 512 + CLSID_OFFSET as usize;
    bytes[clsid_at..clsid_at + 16].copy_from_slice(&clsid);
    bytes
}

#[cfg(test)]
pub const WORD_CLSID: [u8; 16] = OFFICE_CLSIDS[0].0;

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(bytes: &[u8], piece: usize) -> Option<&'static str> {
        let mut probe = CompoundProbe::default();
        probe.read_header(bytes);
        for (index, chunk) in bytes.chunks(piece).enumerate() {
            probe.update((index * piece) as u64, chunk);
        }
        probe.office_type()
    }

    #[test]
    fn word_clsid_is_found() {
        let bytes = test_compound_file(40, WORD_CLSID, 24 * 1024);

        assert_eq!(probe(&bytes, 4096), Some("application/msword"));
    }

    #[test]
    fn clsid_split_across_pieces_is_found() {
        let bytes = test_compound_file(40, WORD_CLSID, 24 * 1024);

        // 41 * 512 + 0x50 = 21072, so pieces of 21080 bytes cut the CLSID
        // after eight bytes.
        assert_eq!(probe(&bytes, 21_080), Some("application/msword"));
        assert_eq!(probe(&bytes, 7), Some("application/msword"));
    }

    #[test]
    fn clsid_uses_disk_byte_order() {
        // 64818D10-4F9B-11CF-86EA-00AA00B929E8 with its first three fields
        // little-endian.
        let expected = [
            0x10, 0x8D, 0x81, 0x64, 0x9B, 0x4F, 0xCF, 0x11, 0x86, 0xEA, 0x00, 0xAA, 0x00, 0xB9,
            0x29, 0xE8,
        ];

        assert_eq!(OFFICE_CLSIDS[3].0, expected);
    }

    #[test]
    fn unknown_clsid_gives_no_type() {
        let bytes = test_compound_file(40, [7; 16], 24 * 1024);

        assert_eq!(probe(&bytes, 4096), None);
    }

    #[test]
    fn directory_past_the_end_gives_no_type() {
        let mut bytes = test_compound_file(1, WORD_CLSID, 4096);
        bytes[0x30..0x34].copy_from_slice(&u32::MAX.to_le_bytes());

        assert_eq!(probe(&bytes, 4096), None);
    }

    #[test]
    fn other_formats_are_ignored() {
        let mut bytes = test_compound_file(40, WORD_CLSID, 24 * 1024);
        bytes[0] = b'P';

        assert_eq!(probe(&bytes, 4096), None);
    }

    #[test]
    fn unknown_sector_size_is_ignored() {
        let mut bytes = test_compound_file(40, WORD_CLSID, 24 * 1024);
        bytes[0x1E..0x20].copy_from_slice(&10u16.to_le_bytes());

        assert_eq!(probe(&bytes, 4096), None);
    }
}
