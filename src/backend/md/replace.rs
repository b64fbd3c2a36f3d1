//! `replace` on md, as a plan (filled in below).
