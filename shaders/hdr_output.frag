#version 440
// The HDR output window (app/viewer/hdr_output.py): a frame in cd/m² (BT.2020) to the signal an
// HDR swap chain takes. HDR10: SMPTE ST 2084 (PQ) of BT.2020 light clipped at the mastering peak.
// Extended-range linear (scRGB, Display P3 EDR): the light in the swap chain's primaries over its
// nits per unit, negative and above-1 values kept (they carry the wider gamut and the highlights).
layout(location = 0) in vec2 v_uv;
layout(location = 0) out vec4 fragColor;

layout(std140, binding = 0) uniform Output {
    mat4 to_output;       // BT.2020 -> the swap chain's primaries (upper 3x3 used)
    vec4 scale;           // x: view exposure as a factor, y: 1 / nits per unit, z: peak cd/m², w: PQ (1) or linear (0)
    vec4 image_rect;      // the image's texture coordinates: x0, y0 (top-left), width, height
    vec4 ndc;             // read by the vertex stage
};
layout(binding = 1) uniform sampler2D frame;

vec3 pq_inverse_eotf(vec3 nits)
{
    // SMPTE ST 2084 constants.
    const float m1 = 2610.0 / 16384.0;
    const float m2 = 2523.0 / 4096.0 * 128.0;
    const float c1 = 3424.0 / 4096.0;
    const float c2 = 2413.0 / 4096.0 * 32.0;
    const float c3 = 2392.0 / 4096.0 * 32.0;
    vec3 y = pow(clamp(nits / 10000.0, 0.0, 1.0), vec3(m1));
    return pow((c1 + c2 * y) / (1.0 + c3 * y), vec3(m2));
}

void main()
{
    vec2 uv = image_rect.xy + v_uv * image_rect.zw;
    if (any(lessThan(uv, vec2(0.0))) || any(greaterThan(uv, vec2(1.0)))) {
        fragColor = vec4(0.0, 0.0, 0.0, 1.0);
        return;
    }
    vec3 nits = texture(frame, uv).rgb * scale.x;
    vec3 light = (to_output * vec4(nits, 0.0)).rgb;
    vec3 signal = scale.w > 0.5 ? pq_inverse_eotf(min(light, vec3(scale.z))) : light * scale.y;
    fragColor = vec4(signal, 1.0);
}
