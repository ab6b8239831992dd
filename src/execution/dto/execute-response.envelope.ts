import { ApiProperty } from '@nestjs/swagger';
import { EnvelopeDto, EnvelopeFieldsDto } from '../../common/envelope';
import { jsonValueProperty } from '../../common/json-value.schema';
import { DisplayItemDto, OutputFileDto, richOutputProperties } from './rich-output.dto';

export class ExecutionResultDto {
  @ApiProperty({
    ...jsonValueProperty,
    description:
      'Value of a top-level `return` or of the trailing expression, or null; JSON-safe (others become repr())',
    example: 42,
  })
  result: unknown;
  @ApiProperty({ example: 'Hello, World!\n' })
  stdout: string;
  @ApiProperty({ example: '' })
  stderr: string;
  @ApiProperty({ example: 0 })
  exit_code: number;
  @ApiProperty({ example: false, description: 'stdout exceeded MAX_OUTPUT_BYTES and was cut' })
  stdout_truncated: boolean;
  @ApiProperty({ example: false })
  stderr_truncated: boolean;
  @ApiProperty(richOutputProperties.files)
  files: OutputFileDto[];
  @ApiProperty(richOutputProperties.display)
  display: DisplayItemDto[];
  @ApiProperty(richOutputProperties.display_truncated)
  display_truncated: boolean;
}

export class ExecuteSuccessEnvelopeDto extends EnvelopeFieldsDto {
  @ApiProperty({ type: ExecutionResultDto, description: 'What the program left' })
  response: ExecutionResultDto;
}

export class ExecuteAcceptedEnvelopeDto extends EnvelopeDto {
  @ApiProperty({ example: 'processing' })
  declare message: string;
  @ApiProperty({ example: 0, description: 'MAX_QUEUE_LENGTH; 0 means unlimited' })
  max_queue_length: number;
}
