//! The integration tests, in one binary so the AWS SDK crates link once: the real SDK clients over real HTTP
//! against the project's emulator (and moto's server for DynamoDB, S3 and SNS), the CLI and Lambda faces as
//! processes, and the README's and the template's claims checked against the code.

mod common;
mod moto;

mod check;
mod cli;
mod dts;
mod fan_out;
mod glue;
mod grace;
mod handler;
mod hostile_names;
mod house;
mod lambda;
mod moto_backed;
mod organizations;
mod overlap;
mod readme;
mod recheck;
mod restore;
mod sweep;
