// Links smallvec so `cargo auditable` records it in the binary's .dep-v0 section.
use smallvec::SmallVec;

fn main() {
    let mut values: SmallVec<[u32; 4]> = SmallVec::new();
    for i in 0..6 {
        values.push(i);
    }
    println!("{} values, spilled: {}", values.len(), values.spilled());
}
