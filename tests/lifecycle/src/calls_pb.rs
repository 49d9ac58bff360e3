// Shared by the `calls` fixture (src/bin/calls.rs) and its tests (tests/calls.rs): a hand-written
// gRPC service `adv.v1.Adv` (no protoc): Unary, Stream (server streaming), Collect (client
// streaming), Chat (bidi), Fail (unary, trailers-only error).
#[allow(dead_code)]
pub mod pb {
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct Req {
        #[prost(string, tag = "1")]
        pub mode: ::prost::alloc::string::String,
        #[prost(uint64, tag = "2")]
        pub n: u64,
    }
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct Msg {
        #[prost(uint64, tag = "1")]
        pub seq: u64,
        #[prost(bytes = "vec", tag = "2")]
        pub payload: ::prost::alloc::vec::Vec<u8>,
    }
    pub const SERVICE: &str = "adv.v1.Adv";
    pub const UNARY: &str = "/adv.v1.Adv/Unary";
    pub const STREAM: &str = "/adv.v1.Adv/Stream";
    pub const COLLECT: &str = "/adv.v1.Adv/Collect";
    pub const CHAT: &str = "/adv.v1.Adv/Chat";
    pub const FAIL: &str = "/adv.v1.Adv/Fail";
}
