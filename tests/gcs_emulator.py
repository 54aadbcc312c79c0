"""gcp-storage-emulator serving one bucket from memory, with the `x-goog-generation` header on each download.

TensorStore (orbax's array store) reads an object's generation from that header, as GCS sends it; the
emulator leaves it out, and TensorStore then fails with "Malformed StorageGeneration".

  python -m tests.gcs_emulator PORT BUCKET
"""

import sys

from gcp_storage_emulator.exceptions import NotFound
from gcp_storage_emulator.handlers import objects

_download = objects.download


def download_with_generation(request, response, storage, *args, **kwargs):
  _download(request, response, storage, *args, **kwargs)
  try:
    stored = storage.get_file_obj(request.params['bucket_name'], request.params['object_id'])
  except NotFound:
    return
  response['x-goog-generation'] = stored['generation']
  response['x-goog-metageneration'] = stored['metageneration']


objects.download = download_with_generation  # Before the server module reads its handler table.

from gcp_storage_emulator import server  # pylint: disable=wrong-import-position

if __name__ == '__main__':
  port, bucket = sys.argv[1:]
  server.create_server('localhost', int(port), in_memory=True, default_bucket=bucket).run()
