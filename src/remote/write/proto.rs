//! The remote-write 1.0 wire format: the `prometheus.WriteRequest` protobuf messages of
//! Prometheus's `prompb/types.proto` and `remote.proto` (as prost messages, written by hand
//! since there is no protoc), a direct encoder that writes a batch of samples as those
//! bytes without building the messages, snappy block compression, and the HTTP headers the
//! protocol requires. The shards encode their batches with `encode_batch`; tests and
//! receivers decode with `decode_request`.

use prost::Message;
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint};

use crate::model::Labels;

/// `Content-Encoding` of a request body.
pub const CONTENT_ENCODING: &str = "snappy";
/// `Content-Type` of a request body.
pub const CONTENT_TYPE: &str = "application/x-protobuf";
/// The version header's name and value for remote-write 1.0.
pub const VERSION_HEADER: &str = "X-Prometheus-Remote-Write-Version";
pub const VERSION_1: &str = "0.1.0";

/// `User-Agent` of kmon's remote-write requests.
pub fn user_agent() -> String {
    format!("kmon/{}", env!("CARGO_PKG_VERSION"))
}

/// `prometheus.WriteRequest`.
#[derive(Clone, PartialEq, Message)]
pub struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
    #[prost(message, repeated, tag = "3")]
    pub metadata: Vec<MetricMetadata>,
}

/// `prometheus.TimeSeries` (the sample part; kmon sends no exemplars or histograms).
#[derive(Clone, PartialEq, Message)]
pub struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
}

/// `prometheus.Label`.
#[derive(Clone, PartialEq, Eq, Message)]
pub struct Label {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `prometheus.Sample`: a value at a time in milliseconds.
#[derive(Clone, PartialEq, Message)]
pub struct Sample {
    #[prost(double, tag = "1")]
    pub value: f64,
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// `prometheus.MetricMetadata` (kmon does not send metadata yet; receivers may).
#[derive(Clone, PartialEq, Message)]
pub struct MetricMetadata {
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    #[prost(string, tag = "2")]
    pub metric_family_name: String,
    #[prost(string, tag = "4")]
    pub help: String,
    #[prost(string, tag = "5")]
    pub unit: String,
}

/// One sample of a batch and the labels it is sent with.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchSample {
    pub labels: Labels,
    pub t: i64,
    pub v: f64,
}

fn len_field(tag: u32, len: usize) -> usize {
    // key (tags below 16 take one byte) + length varint + body
    1 + encoded_len_varint(len as u64) + len + usize::from(tag >= 16)
}

fn label_len(name: &str, value: &str) -> usize {
    let mut n = 0;
    if !name.is_empty() {
        n += len_field(1, name.len());
    }
    if !value.is_empty() {
        n += len_field(2, value.len());
    }
    n
}

fn sample_len(t: i64, v: f64) -> usize {
    let mut n = 0;
    if v.to_bits() != 0 {
        n += 1 + 8;
    }
    if t != 0 {
        n += 1 + encoded_len_varint(t as u64);
    }
    n
}

fn series_len(s: &BatchSample) -> usize {
    let labels: usize = s
        .labels
        .iter()
        .map(|l| len_field(1, label_len(l.name, l.value)))
        .sum();
    labels + len_field(2, sample_len(s.t, s.v))
}

/// Appends the protobuf bytes of a `WriteRequest` holding one `TimeSeries` per sample, in
/// order, each with its labels (sorted, as `Labels` are) and its one sample, as Prometheus
/// sends remote-write 1.0. The bytes equal prost's encoding of the same messages.
pub fn encode_batch(batch: &[BatchSample], out: &mut Vec<u8>) {
    let total: usize = batch.iter().map(|s| len_field(1, series_len(s))).sum();
    out.reserve(total);
    for s in batch {
        encode_key(1, WireType::LengthDelimited, out);
        encode_varint(series_len(s) as u64, out);
        for l in s.labels.iter() {
            encode_key(1, WireType::LengthDelimited, out);
            encode_varint(label_len(l.name, l.value) as u64, out);
            if !l.name.is_empty() {
                encode_key(1, WireType::LengthDelimited, out);
                encode_varint(l.name.len() as u64, out);
                out.extend_from_slice(l.name.as_bytes());
            }
            if !l.value.is_empty() {
                encode_key(2, WireType::LengthDelimited, out);
                encode_varint(l.value.len() as u64, out);
                out.extend_from_slice(l.value.as_bytes());
            }
        }
        encode_key(2, WireType::LengthDelimited, out);
        encode_varint(sample_len(s.t, s.v) as u64, out);
        if s.v.to_bits() != 0 {
            encode_key(1, WireType::SixtyFourBit, out);
            out.extend_from_slice(&s.v.to_le_bytes());
        }
        if s.t != 0 {
            encode_key(2, WireType::Varint, out);
            encode_varint(s.t as u64, out);
        }
    }
}

/// A request body that could not be made.
#[derive(Debug, thiserror::Error)]
#[error("snappy compression of a {len}-byte request failed: {source}")]
pub struct EncodeError {
    len: usize,
    source: snap::Error,
}

/// Reusable buffers for encoding and compressing batches.
pub struct Encoder {
    raw: Vec<u8>,
    snappy: snap::raw::Encoder,
}

impl Default for Encoder {
    fn default() -> Self {
        Encoder {
            raw: Vec::new(),
            snappy: snap::raw::Encoder::new(),
        }
    }
}

impl Encoder {
    pub fn new() -> Encoder {
        Encoder::default()
    }

    /// The snappy block-compressed `WriteRequest` of `batch`: a request body.
    pub fn encode(&mut self, batch: &[BatchSample]) -> Result<Vec<u8>, EncodeError> {
        self.raw.clear();
        encode_batch(batch, &mut self.raw);
        self.snappy
            .compress_vec(&self.raw)
            .map_err(|source| EncodeError {
                len: self.raw.len(),
                source,
            })
    }
}

/// Why a request body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("snappy: {0}")]
    Snappy(#[from] snap::Error),
    #[error("protobuf: {0}")]
    Proto(#[from] prost::DecodeError),
}

/// Reads a snappy block-compressed `WriteRequest`, as a receiver does.
pub fn decode_request(body: &[u8]) -> Result<WriteRequest, DecodeError> {
    let raw = snap::raw::Decoder::new().decompress_vec(body)?;
    Ok(WriteRequest::decode(raw.as_slice())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch() -> Vec<BatchSample> {
        vec![
            BatchSample {
                labels: Labels::from_pairs(&[("job", "node"), ("__name__", "up")]),
                t: 1_700_000_000_000,
                v: 1.0,
            },
            BatchSample {
                labels: Labels::from_pairs(&[("__name__", "x")]),
                t: 0,
                v: 0.0,
            },
            BatchSample {
                labels: Labels::from_pairs(&[("__name__", "neg"), ("a", "é")]),
                t: -5,
                v: f64::NAN,
            },
        ]
    }

    fn as_messages(b: &[BatchSample]) -> WriteRequest {
        WriteRequest {
            timeseries: b
                .iter()
                .map(|s| TimeSeries {
                    labels: s
                        .labels
                        .iter()
                        .map(|l| Label {
                            name: l.name.to_string(),
                            value: l.value.to_string(),
                        })
                        .collect(),
                    samples: vec![Sample {
                        value: s.v,
                        timestamp: s.t,
                    }],
                })
                .collect(),
            metadata: vec![],
        }
    }

    #[test]
    fn direct_encoding_equals_prost_encoding() {
        let b = batch();
        let mut direct = Vec::new();
        encode_batch(&b, &mut direct);
        assert_eq!(direct, as_messages(&b).encode_to_vec());
        let mut empty = Vec::new();
        encode_batch(&[], &mut empty);
        assert!(empty.is_empty());
    }

    #[test]
    fn a_compressed_request_decodes_to_the_batch_with_sorted_labels() {
        let b = batch();
        let body = Encoder::new().encode(&b).unwrap();
        let req = decode_request(&body).unwrap();
        assert_eq!(req.timeseries.len(), 3);
        let names: Vec<&str> = req.timeseries[0]
            .labels
            .iter()
            .map(|l| l.name.as_str())
            .collect();
        assert_eq!(names, ["__name__", "job"]);
        assert_eq!(req.timeseries[0].samples[0].timestamp, 1_700_000_000_000);
        assert_eq!(req.timeseries[1].samples[0].value, 0.0);
        assert!(req.timeseries[2].samples[0].value.is_nan());
        assert_eq!(req.timeseries[2].samples[0].timestamp, -5);
        assert_eq!(req.timeseries[2].labels[1].value, "é");
    }

    #[test]
    fn golden_bytes_of_a_small_request() {
        let b = vec![BatchSample {
            labels: Labels::from_pairs(&[("__name__", "up")]),
            t: 1000,
            v: 1.0,
        }];
        let mut raw = Vec::new();
        encode_batch(&b, &mut raw);
        // WriteRequest{timeseries: [{labels: [{__name__ up}], samples: [{1, 1000}]}]}
        let want: Vec<u8> = vec![
            0x0a, 0x1e, // timeseries, 30 bytes
            0x0a, 0x0e, // label, 14 bytes
            0x0a, 0x08, b'_', b'_', b'n', b'a', b'm', b'e', b'_', b'_', // name
            0x12, 0x02, b'u', b'p', // value
            0x12, 0x0c, // sample, 12 bytes
            0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, // value 1.0
            0x10, 0xe8, 0x07, // timestamp 1000
        ];
        assert_eq!(raw, want);
        // Snappy block format: the uncompressed length, then one literal.
        let body = Encoder::new().encode(&b).unwrap();
        assert_eq!(body[0] as usize, want.len());
        assert_eq!(&body[2..], &want[..]);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode_request(b"\xff\xff\xff\xff").is_err());
        let body = snap::raw::Encoder::new().compress_vec(b"\x0a\xff").unwrap();
        assert!(matches!(decode_request(&body), Err(DecodeError::Proto(_))));
    }
}
