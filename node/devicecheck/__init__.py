"""The device check at the post: cameras, microphone, speakers, a loopback call, the link, and the rest.

- `devices`: what is plugged in (V4L2 cameras, ALSA sound devices), without opening anything;
- `loopback`: an aiortc call to itself, always in a child process;
- `checks`: each check's verdict and what to do, for the kiosk page and the engineer's self-test;
- `measurements`: the latest loopback and link measurement, until the page saves a full result;
- `results`: the stored results (devicecheck.json and its history) and the browser's part, validated.
"""
