// Log2-domain 1-D LUT lookup: the same index arithmetic as engine.lut.Lut1D.sample.
// Entries are blended by hand from texelFetch: hardware filtering uses 8-bit weights on
// common GPUs, which would break "preview equals export".
struct Lut {
    float x_min;
    float x_max;
    float log2_min;
    float log2_max;
};

float lut_sample(sampler1D table, Lut lut, float x) {
    int size = textureSize(table, 0);
    float t = (log2(clamp(x, lut.x_min, lut.x_max)) - lut.log2_min)
              * (float(size - 1) / (lut.log2_max - lut.log2_min));
    float i0 = clamp(floor(t), 0.0, float(size - 2));
    int i = int(i0);
    return mix(texelFetch(table, i, 0).r, texelFetch(table, i + 1, 0).r, t - i0);
}

vec3 lut_sample3(sampler1D table, Lut lut, vec3 x) {
    return vec3(lut_sample(table, lut, x.r), lut_sample(table, lut, x.g), lut_sample(table, lut, x.b));
}
