#version 440
// One triangle covering the viewport (no vertex buffer): the HDR output window's quad.
layout(location = 0) out vec2 v_uv;

layout(std140, binding = 0) uniform Output {
    mat4 to_output;
    vec4 scale;
    vec4 image_rect;
    vec4 ndc;  // x: +1 where normalised device y points up (OpenGL, D3D, Metal), -1 where down (Vulkan)
};

void main()
{
    vec2 corner = vec2(float((gl_VertexIndex << 1) & 2), float(gl_VertexIndex & 2));
    v_uv = corner;  // (0, 0) = the top-left of the picture
    gl_Position = vec4(corner.x * 2.0 - 1.0, ndc.x * (1.0 - corner.y * 2.0), 0.0, 1.0);
}
