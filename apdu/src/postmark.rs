//! Figure 3: the cryptographic postmark, signed by the meter key, and the
//! postmark file (postmark, then the signer's certificate). Defined with
//! the POSTMARK command in [`crate::cmd::postmark`]; re-exported here.

pub use crate::cmd::postmark::{
    ASCENDING, CERTIFICATE_SERIAL, DIGEST, FEE, METER, POSTMARK, Postmark, PostmarkBody,
    PostmarkFile, SEQUENCE, TIME,
};
