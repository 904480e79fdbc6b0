//! Happy paths against moto.
